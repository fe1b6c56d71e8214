"""The evaluation layer: trained models in, long-format scores out.

It holds the `evaluate` stage's work (`evaluate`: every run scored per language, probes on every representation
space), the columns of its CSVs (`columns`, apart so that the report reads them without importing torch), the
metrics (`metrics`), the paired bootstrap over seeds and test examples (`significance`) and the constant-predictor
and chance references (`chance`); and a trained model put to use: new text read from a file (`texts`), predicted
on by a run or an export (`predict`, `xcrl predict`), a run exported in Hugging Face's layout with its model card
(`export`, `xcrl export`). It may import the training, model and data layers and `config`, `io`,
`progress`; never the report.
"""
