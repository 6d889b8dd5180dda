"""Issue 25, item 1: no error message about a damaged file carries the header's identifiers.

More than 2,000 seeded mutants of pydicom's two real GE whole-body scans (truncations, bit flips, and
changed length fields of their elements, found through pydicom's own parse of the originals) are read
by ``dicom.read_nm`` and by the folder scan (problems, warnings and ``dspic data scan``'s output); every
message and exception text is searched for the identifying values of the originals' headers."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import GE_SCANS, copy_pydicom
from pydicom.tag import Tag

from dspic_lib import cli
from dspic_lib.data import dicom
from dspic_lib.data.cohort import scan
from dspic_lib.errors import DataError

SEED = 25
PER_FILE = {"truncate": 350, "flip": 400, "length": 350}          # x 2 files = 2,200 mutants
# identifying elements: who (names, IDs), where, when, and the instance UIDs that lead back to them
IDENTIFYING = ("PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "PatientBirthDate",
               "StudyID", "AccessionNumber", "InstitutionName", "InstitutionAddress", "StationName",
               "DeviceSerialNumber", "ReferringPhysicianName", "OperatorsName", "StudyDate", "SeriesDate",
               "AcquisitionDate", "ContentDate", "InstanceCreationDate", "StudyInstanceUID",
               "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")
_LONG_LENGTH_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def identifiers(data: bytes) -> set[str]:
    """The identifying values of a header as text (4 characters or more), and the parts of person
    names (a message quoting ``CompressedSamples`` alone would still name the patient). GE's private
    (0009,1040) holds a person's name too (``BERRA,JAMES``)."""
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    found: set[str] = set()
    for elem in ds.iterall():
        if elem.keyword in IDENTIFYING or elem.VR == "PN" or elem.tag == Tag(0x0009, 0x1040):
            values = elem.value if isinstance(elem.value, pydicom.multival.MultiValue) else [elem.value]
            for value in values:
                text = str(value).strip()
                found.add(text)
                if elem.VR == "PN":
                    found.update(part.strip() for part in text.split("^"))
    return {text for text in found if len(text) >= 4}


def length_fields(data: bytes) -> list[tuple[int, int, int]]:
    """``(offset, size, value)`` of every element's length field, top level and inside sequences,
    located from pydicom's parse (``value_tell`` of each raw element; the file is explicit VR little
    endian, so the length is the 2 or 4 bytes just before the value)."""
    ds = pydicom.dcmread(io.BytesIO(data), defer_size=None)
    out = []

    def walk(dataset):
        for tag in list(dataset.keys()):
            raw = dataset.get_item(tag)
            if getattr(raw, "value_tell", None) is None or raw.length == 0xFFFFFFFF:
                elem = dataset[tag]
                if elem.VR == "SQ":
                    for item in elem.value:
                        walk(item)
                continue
            size = 4 if raw.VR in _LONG_LENGTH_VRS else 2
            out.append((raw.value_tell - size, size, raw.length))
            if raw.VR == "SQ":
                for item in dataset[tag].value:
                    walk(item)

    walk(ds.file_meta)
    walk(ds)
    return out


def mutants(data: bytes, rng: np.random.Generator):
    fields = length_fields(data)
    assert len(fields) > 80                               # the parse found the elements
    for _ in range(PER_FILE["truncate"]):
        yield "truncate", data[: int(rng.integers(0, len(data)))]
    for _ in range(PER_FILE["flip"]):
        out = bytearray(data)
        for at in rng.integers(0, len(data), size=int(rng.integers(1, 9))):
            out[at] ^= 1 << int(rng.integers(0, 8))
        yield "flip", bytes(out)
    for _ in range(PER_FILE["length"]):
        offset, size, value = fields[int(rng.integers(0, len(fields)))]
        top = (1 << (8 * size)) - 1
        new = int(rng.choice([0, 1, max(value - 1, 0), value + 1, 2 * value, 1024, 4096, top,
                              int(rng.integers(0, top))]))
        out = bytearray(data)
        out[offset:offset + size] = min(new, top).to_bytes(size, "little")
        yield "length", bytes(out)


def leaks(text: str, secrets: set[str]) -> list[str]:
    low = text.lower()
    return [s for s in secrets if s.lower() in low]


def test_the_identifier_list_is_not_empty(tmp_path):
    folder = copy_pydicom(GE_SCANS, tmp_path)
    secrets = set().union(*(identifiers((folder / n).read_bytes()) for n in GE_SCANS))
    for value in ("CompressedSamples^NM1", "8NM1", "20040826", "St. John's Memorial", "BERRA,JAMES"):
        assert value in secrets


def test_modality_length_1024_does_not_print_the_neighbours(tmp_path):
    """The case of the issue: Modality's length 2 -> 1024 made the message print the next kilobyte."""
    folder = copy_pydicom(GE_SCANS[:1], tmp_path)
    path = folder / GE_SCANS[0]
    data = bytearray(path.read_bytes())
    raw = pydicom.dcmread(path).get_item(Tag(0x0008, 0x0060))
    data[raw.value_tell - 2: raw.value_tell] = (1024).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        dicom.read_nm(path)
    message = str(err.value)
    # the value now runs past the end of the file: "truncated" (a value that stays inside the file is
    # quoted short: test_hostile_data.py::test_a_long_modality_is_quoted_short_and_printable)
    assert message.startswith(f"{GE_SCANS[0]}: truncated") and len(message) < 160, message
    assert not leaks(message, identifiers((Path(pydicom.__file__).parent / "data" / "test_files"
                                           / GE_SCANS[0]).read_bytes()))


@pytest.mark.slow
def test_no_message_about_2000_mutants_carries_a_header_identifier(tmp_path, capsys):
    originals = copy_pydicom(GE_SCANS, tmp_path / "originals")
    rng = np.random.default_rng(SEED)
    folder = tmp_path / "mutants"
    folder.mkdir()
    secrets: set[str] = set()
    texts: list[tuple[str, str]] = []
    n = 0
    for name in GE_SCANS:
        data = (originals / name).read_bytes()
        secrets |= identifiers(data)
        for kind, mutant in mutants(data, rng):
            path = folder / f"{n:04d}_{kind}_{name}"
            path.write_bytes(mutant)
            n += 1
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")         # a warning that escapes is a message too
                try:
                    dicom.read_nm(path)
                except DataError as err:
                    texts.append((path.name, str(err)))
            texts += [(path.name, f"warning: {w.message}") for w in caught]
    assert n >= 2000
    # again without the truncation check, which stops most runaway lengths before a value is quoted:
    # the quoting itself must hold (with raw quoting this pass finds 23 messages with identifiers)
    quoted = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dicom, "_truncated", lambda *args: False)
        for path in sorted(folder.iterdir()):
            try:
                dicom.read_nm(path)
            except DataError as err:
                texts.append((path.name + " (no truncation check)", str(err)))
                quoted += "got modality 'NM..." in str(err)
    assert quoted >= 1                                     # a runaway Modality was quoted, short
    cohort = scan(folder)
    texts += [(f, p) for f, p in cohort.problems.itertuples(index=False)]
    texts += [(f, w) for f, w in cohort.warnings.itertuples(index=False)]
    cli.main(["data", "scan", str(folder)])
    captured = capsys.readouterr()
    texts += [("dspic data scan", captured.out + captured.err)]
    found = [(file, hit, text[:300]) for file, text in texts for hit in leaks(text, secrets)]
    assert len(texts) > 2000                               # most mutants were refused, with a message
    assert not found, f"{len(found)} messages carry identifiers, e.g. {found[:5]}"
