"""Built-in ocr-harness plugins, registered through the ocr_harness entry-point group."""
