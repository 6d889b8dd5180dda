"""Chapter 03's tables and sentences (dspic_lib.chapters.architectures), on hand-made numbers."""
import pandas as pd
import pytest

from dspic_lib.chapters import architectures


def test_each_network_is_attributed_to_the_papers_table():
    out = architectures.model_names_table(["dSPIC-AM", "dSPIC-RM", "SI_CLF", "AlexNet", "dSPIC-AM-nopool"])
    assert out["paper's table"].tolist() == ["Table 3", "Table 3", "Table 7", "Table 7", "Table 9"]
    assert out["model"].tolist()[-1] == "dSPIC-AM-nopool"


def test_ram_is_read_from_the_machine_description_and_a_missing_size_is_an_error():
    assert architectures.ram_gb("Keras on an Intel i7 with 64 GB of memory") == 64.0
    assert architectures.ram_gb("a box with 12.5GB") == 12.5
    with pytest.raises(ValueError, match="no memory size in GB in the machine description 'a laptop'"):
        architectures.ram_gb("a laptop")


def test_training_memory_counts_weights_gradients_and_two_adam_moments():
    assert architectures.training_gb(1_000_000_000) == 16.0
    assert architectures.training_gb(250_000_000) == 4.0


def test_literal_memory_sentence_says_whether_the_machine_could_hold_the_training_state():
    over = architectures.literal_memory_sentence(5_000_000_000, 12_300_000_000, 23_400_000, "PC, 64 GB RAM", (1024, 256))
    assert "dSPIC-AM at 1024 x 256 has **5.00 billion parameters**: 20.0 GB of float32 weights and 80 GB" in over
    assert "(Table 4: PC, 64 GB RAM) had 64 GB of memory, less than the weights and optimizer state alone." in over
    assert "the literal network has 12.3 billion parameters" in over and "has 23.4 million parameters" in over
    under = architectures.literal_memory_sentence(1_000_000_000, 1, 1, "PC, 64 GB RAM", (1024, 256))
    assert "had 64 GB of memory, only 48 GB more than the weights and optimizer state need" in under
    assert "less than" not in under


def test_padding_sentence_quotes_the_maps_around_conv3_and_conv4():
    layers = pd.DataFrame({"output": ["10x3x64", "14x7x64", "18x11x64"]}, index=["pool2", "conv3", "conv4"])
    assert architectures.padding_sentence(layers, (1024, 256)) == (
        "At 1024 x 256 the map grows from 10x3x64 after pool2 to 14x7x64 after conv3 and 18x11x64 after conv4 "
        "(rows x columns x channels).")


def test_smallest_reading_sentence_compares_the_minimum_with_the_reading_as_printed():
    s = architectures.smallest_reading_sentence(pd.Series([3.2e9, 2.0e9, 1.1e9, 0.75e9]), (1024, 256))
    assert "convolutions: 0.75 billion parameters at 1024 x 256, against 3.20 billion as printed (P=3)." in s


def test_size_sentence_formats_counts_as_built_and_read_literally():
    s = architectures.size_sentence("dSPIC-AM", (1024, 256), {"parameters": 1234567, "flops": 2.5e9,
                                                              "literal_parameters": 9876543210, "literal_flops": 3.04e9})
    assert s == ("dSPIC-AM at 1024 x 256: **1,234,567 parameters** and 2.5 GFLOP per image as built here; "
                 "9,876,543,210 parameters and 3.0 GFLOP per image read literally.")


def test_source_markdown_is_a_fenced_python_block_of_the_function():
    def tiny(x):
        return x + 1

    md = architectures.source_markdown(tiny)
    assert md.startswith("```python\n") and md.endswith("```") and "return x + 1" in md


def test_the_readings_compared_start_with_the_default_and_end_with_the_smallest_candidate():
    labels = list(architectures.READINGS)
    assert architectures.READINGS[labels[0]] == {} and architectures.POOL_READINGS["same pools (default)"] == {}
    assert architectures.READINGS[labels[-1]] == {"pool_padding": "valid", "conv_padding": "same"}
