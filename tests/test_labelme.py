"""LabelMe annotations: round trip, class rule, and every kind of bad file."""
from __future__ import annotations

import json

import pytest

from dspic_lib.data import labelme
from dspic_lib.data.labelme import Lesion
from dspic_lib.errors import DataError

SHAPE = (1024, 256)


def lesions():
    return [Lesion("metastasis", "rib", "rectangle", ((10.5, 200.0), (22.0, 214.25))),
            Lesion("arthritis", "knee", "polygon", ((100.0, 700.0), (110.0, 705.0), (104.0, 716.0)))]


def doc(shapes, **extra):
    return {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": "a.dcm", "imageData": None,
            "imageHeight": SHAPE[0], "imageWidth": SHAPE[1], **extra}


def shape(label="metastasis:rib", points=((10, 10), (20, 20)), kind="rectangle"):
    return {"label": label, "points": [list(p) for p in points], "shape_type": kind, "flags": {}}


def test_round_trip_keeps_labels_shapes_and_boxes(tmp_path):
    path = labelme.write_labelme(tmp_path / "a.json", lesions(), image_path="a.dcm", height=1024, width=256)
    ann = labelme.read_labelme(path, data_dir=tmp_path, image_shape=SHAPE, image_name="a.dcm")
    assert list(ann.lesions) == lesions()
    assert ann.lesions[0].box == (10.5, 200.0, 22.0, 214.25)
    assert ann.lesions[1].box == (100.0, 700.0, 110.0, 716.0)
    assert ann.label == "M&A"
    written = json.loads(path.read_text())
    assert written["shapes"][0]["label"] == "metastasis:rib" and written["imageData"] is None


@pytest.mark.parametrize("diseases, expected", [((), "N"), (("metastasis",), "M"), (("arthritis", "arthritis"), "A"),
                                                (("arthritis", "metastasis"), "M&A")])
def test_class_follows_the_annotated_diseases(diseases, expected):
    assert labelme.class_of([Lesion(d, "x", "rectangle", ((0, 0), (1, 1))) for d in diseases]) == expected


def test_label_without_site_and_upper_case_disease_are_accepted(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc([shape("Metastasis")])))
    les = labelme.read_labelme(path, image_shape=SHAPE).lesions[0]
    assert (les.disease, les.site) == ("metastasis", "unspecified")


def test_malformed_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"shapes": [')
    with pytest.raises(DataError, match=r"broken\.json: malformed JSON"):
        labelme.read_labelme(path)


@pytest.mark.parametrize("content, message", [
    ([1, 2], "expected a JSON object"),
    ({"shapes": "none"}, "'shapes' must be a list"),
    (doc([shape(points=((1, 2),))]), "a rectangle needs exactly 2 points"),
    (doc([shape(points=((1, 2), (3, 4)), kind="polygon")]), "a polygon needs at least 3 points"),
    (doc([shape(points=(("a", 2), (3, 4)))]), "is not a finite number"),
    (doc([shape(kind="circle")]), "shape_type 'circle' not supported"),
    (doc([shape(points=((5, 5), (5, 9)))]), "encloses no area"),
])
def test_malformed_labelme_content_is_reported(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(DataError, match="bad\\.json: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        labelme.read_labelme(path, image_shape=SHAPE)


def test_unknown_disease_label_is_reported(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc([shape("fracture:rib")])))
    with pytest.raises(DataError, match=r"a\.json: shape 0: unknown disease 'fracture' in label 'fracture:rib'"):
        labelme.read_labelme(path, image_shape=SHAPE)


def test_box_outside_the_image_is_reported(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc([shape(points=((250, 10), (270, 30)))])))
    with pytest.raises(DataError, match=r"a\.json: .*point \(270, 30\) outside the 1024 x 256 image"):
        labelme.read_labelme(path, image_shape=SHAPE)


def test_points_on_the_edge_tolerance_are_clamped(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc([shape(points=((-0.6, 10), (256.4, 30)))])))
    assert labelme.read_labelme(path, image_shape=SHAPE).lesions[0].box == (0.0, 10.0, 256.0, 30.0)


def test_size_mismatch_with_the_dicom_is_reported(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc([], imageHeight=512)))
    with pytest.raises(DataError, match=r"a\.json: annotated image is 512 x 256, the DICOM is 1024 x 256"):
        labelme.read_labelme(path, image_shape=SHAPE)


@pytest.mark.parametrize("image_path", ["../../etc/passwd", "/etc/passwd", "..\\..\\secret.dcm"])
def test_image_path_leading_outside_the_data_folder_is_not_followed(tmp_path, image_path):
    data = tmp_path / "data"
    (data / "p1").mkdir(parents=True)
    path = data / "p1" / "a.json"
    path.write_text(json.dumps(doc([], imagePath=image_path)))
    with pytest.raises(DataError, match=r"a\.json: imagePath .* points outside the data folder \(not followed\)"):
        labelme.read_labelme(path, data_dir=data, image_shape=SHAPE)


def test_image_path_naming_another_image_is_reported(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc([], imagePath="b.dcm")))
    with pytest.raises(DataError, match=r"a\.json: imagePath 'b\.dcm' names another image than 'a\.dcm'"):
        labelme.read_labelme(path, data_dir=tmp_path, image_name="a.dcm")
    # a PNG rendering of the same DICOM (what the annotation tool displayed) is fine
    path.write_text(json.dumps(doc([], imagePath="a.png")))
    assert labelme.read_labelme(path, data_dir=tmp_path, image_name="a.dcm").lesions == ()


def test_an_abnormal_box_of_a_binary_collection_has_no_class_of_the_paper():
    with pytest.raises(DataError, match="kind 'abnormal' have no class among N, M, A, M&A"):
        labelme.class_of([Lesion("abnormal", "unspecified", "rectangle", ((0, 0), (1, 1)))])
