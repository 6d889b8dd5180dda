"""A trained model as a folder (model card), the checks of new inputs, prediction of new scans."""
