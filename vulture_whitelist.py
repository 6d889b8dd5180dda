"""Names that look unused to vulture (`make test` runs it, see [tool.vulture] in pyproject.toml) but are
used by name by a library: pydicom data elements set by keyword, IPython's and tf.data's hooks, pytest's
fixtures and marks, the standard library's handler callbacks. Vulture reads this file as code that uses
them; it is never imported."""
# ruff: noqa: F821
# IPython displays an object with _repr_html_
_._repr_html_
# tf.data.Options fields set in pipeline/inputs.py
_.private_threadpool_size
_.enabled
# http.server calls log_message (tests/conftest.py silences it)
_.log_message
# pytest: fixtures requested by name in usefixtures(...), module-level marks
plot_style
local_ray
pytestmark
# pydicom: data elements are set as attributes named by their DICOM keyword
_.AccessionNumber
_.AcquisitionContextSequence
_.AcquisitionDate
_.AcquisitionTime
_.ActualFrameDuration
_.BitsStored
_.BodyPartExamined
_.CodeMeaning
_.CodingSchemeDesignator
_.CollimatorGridName
_.CollimatorType
_.ContentDate
_.ContentTime
_.CountsAccumulated
_.DetectorVector
_.EnergyWindowInformationSequence
_.EnergyWindowLowerLimit
_.EnergyWindowName
_.EnergyWindowUpperLimit
_.EnergyWindowVector
_.HighBit
_.ImageID
_.ImageOrientationPatient
_.ImagePositionPatient
_.ImplementationClassUID
_.InstanceNumber
_.InstitutionName
_.LossyImageCompression
_.Manufacturer
_.ManufacturerModelName
_.MediaStorageSOPClassUID
_.MediaStorageSOPInstanceUID
_.Modality
_.NumberOfDetectors
_.NumberOfEnergyWindows
_.NumberOfFrames
_.PatientAge
_.PatientBirthDate
_.PatientGantryRelationshipCodeSequence
_.PatientID
_.PatientName
_.PatientOrientation
_.PatientOrientationModifierCodeSequence
_.PatientSex
_.PatientSize
_.PatientWeight
_.PhotometricInterpretation
_.RadionuclideCodeSequence
_.RadionuclideTotalDose
_.Radiopharmaceutical
_.RadiopharmaceuticalCodeSequence
_.RadiopharmaceuticalInformationSequence
_.ReferringPhysicianName
_.RescaleIntercept
_.RescaleSlope
_.SOPInstanceUID
_.SamplesPerPixel
_.ScanLength
_.ScanVelocity
_.SeriesDate
_.SeriesDescription
_.SeriesInstanceUID
_.SeriesNumber
_.SeriesTime
_.SpecificCharacterSet
_.StudyDate
_.StudyDescription
_.StudyID
_.StudyInstanceUID
_.StudyTime
_.VR
_.WholeBodyTechnique
_.enabled
