"""The built-in backends, RapidOCR and Tesseract, on real scans and rendered lines."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from ocr_harness_plugins.backends.rapidocr import MODEL_FILES, RapidOcrBackend, _model_dir
from ocr_harness_plugins.backends.rapidocr_lines import Word, drop_repeated_glyphs, group_into_lines
from ocr_harness_plugins.backends.tesseract import TesseractBackend
from PIL import Image, ImageDraw, ImageFont
from pydantic import ValidationError

from harness.backends import BackendSpec
from harness.errors import UnsupportedLanguageError
from harness.images import load_page
from harness.worker import Task, WorkerState, run_task

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# Clean 1980s-1990s print (UW-III): both engines should read these almost perfectly.
ENGLISH_LINES = ["line_en_uw3_0705_010051", "line_en_uw3_0709_010002", "line_en_uw3_1549_010041"]
# 1678 print with accents (stored decomposed in the ground truth) and long s.
FRENCH_LINE = "line_fr_ocr17_lafayette1678_000397"
# UW-III lines that RapidOCR's own detection setting (shorter side enlarged to 736) splits into
# overlapping word boxes, reading glyphs in the overlaps twice: "the e as-rolled d steel".
SPLIT_LINE = "line_en_uw3_0033_010060"
REPEATED_GLYPHS_LINE = "line_en_uw3_0377_010044"


def normalise(text: str) -> str:
    """NFC, historical long s as s, whitespace collapsed: what a modern engine can be asked for."""
    text = unicodedata.normalize("NFC", text).replace("ſ", "s")
    return " ".join(text.split())


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: Levenshtein distance over the reference length."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_char in enumerate(ref, start=1):
        current = [i]
        for j, hyp_char in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_char != hyp_char)))
        previous = current
    return previous[-1] / max(1, len(ref))


def test_cer_helper_counts_edits() -> None:
    assert cer("abcd", "abcd") == 0
    assert cer("abcd", "abxd") == 0.25
    assert cer("e\u0301te\u0301", "été") == 0  # decomposed accents equal composed ones


def image_of(real_dev: Path, stem: str) -> tuple[Image.Image, str]:
    path = next(p for p in real_dev.glob(f"{stem}.*") if not p.name.endswith(".gt.txt"))
    return load_page(path), (real_dev / f"{stem}.gt.txt").read_text(encoding="utf-8")


def rendered_line(text: str, size: int = 40) -> Image.Image:
    font = ImageFont.truetype(str(DEJAVU), size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right + 40, bottom + 40), 255)
    ImageDraw.Draw(image).text((20, 20), text, font=font, fill=0)
    return image


@pytest.fixture(scope="module")
def rapidocr() -> RapidOcrBackend:
    backend = RapidOcrBackend(threads=1)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def tesseract() -> TesseractBackend:
    backend = TesseractBackend(threads=1)
    yield backend
    backend.close()


# --- RapidOCR ----------------------------------------------------------------


@pytest.mark.parametrize("stem", ENGLISH_LINES)
def test_rapidocr_reads_english_lines(rapidocr: RapidOcrBackend, real_dev: Path, stem: str) -> None:
    image, truth = image_of(real_dev, stem)
    result = rapidocr.recognize(image, language="en")
    assert cer(truth, result.text) < 0.05, result.text
    assert len(result.lines) == 1
    line = result.lines[0]
    assert line.box is not None and 0 <= line.box[0] < line.box[2] <= image.width
    assert line.confidence is not None and 0.5 < line.confidence <= 1


def test_rapidocr_reads_a_french_line_with_its_accents(rapidocr: RapidOcrBackend, real_dev: Path) -> None:
    image, truth = image_of(real_dev, FRENCH_LINE)
    text = rapidocr.recognize(image, language="fr").text
    assert "é" in unicodedata.normalize("NFC", text)
    assert cer(truth, text) < 0.2, text


def engine_texts(backend: RapidOcrBackend, image: Image.Image) -> list[str]:
    """What the RapidOCR engine itself returns, box by box, before this backend assembles lines."""
    pixels = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    return list(backend._engine(pixels).txts)


def test_rapidocr_reads_a_text_line_as_one_box_at_its_own_size(
    rapidocr: RapidOcrBackend, real_dev: Path
) -> None:
    image, truth = image_of(real_dev, SPLIT_LINE)
    result = rapidocr.recognize(image, language="en")
    assert normalise(result.text) == normalise(truth)
    # Detection sees the 956x44 line unenlarged and finds the whole line, not word pieces.
    assert len(engine_texts(rapidocr, image)) == 1
    config = rapidocr._engine.cfg
    assert (config.Det.limit_type, config.Det.limit_side_len) == ("max", 2000)


def test_rapidocr_drops_glyphs_that_overlapping_boxes_read_twice(real_dev: Path) -> None:
    image, truth = image_of(real_dev, REPEATED_GLYPHS_LINE)
    # RapidOCR's own detection setting still splits this line into overlapping boxes.
    backend = RapidOcrBackend(RapidOcrBackend.Options(det_limit_type="min"), threads=1)
    try:
        pieces = engine_texts(backend, image)
        result = backend.recognize(image, language="en")
    finally:
        backend.close()
    assert "e east is formed" in pieces, pieces  # "the" + "e east": the e is read by both boxes
    assert normalise(result.text) == normalise(truth)


def glyphs(text: str, left: float, width: float = 10) -> list[tuple[str, float, float]]:
    return [(char, left + i * width, left + (i + 1) * width) for i, char in enumerate(text)]


def test_only_a_glyph_read_twice_at_the_same_place_is_dropped() -> None:
    # "the" ends at x=30; the next box overlaps it and starts with the same e at the same place.
    the = Word("the", (0, 0, 40, 20), 0.9, glyphs("the", 0))
    read_twice = Word("e east", (18, 0, 90, 20), 0.9, glyphs("e", 21) + glyphs("east", 40))
    assert [w.text for w in drop_repeated_glyphs([the, read_twice])] == ["the", "east"]
    # Same letters at the seam, but the second e sits right of the first: both are printed.
    The = Word("The", (0, 0, 40, 20), 0.9, glyphs("The", 0))
    epithet = Word("epithet", (28, 0, 120, 20), 0.9, glyphs("epithet", 40))
    assert [w.text for w in drop_repeated_glyphs([The, epithet])] == ["The", "epithet"]
    # Boxes that do not overlap, or whose characters were not placed, are left alone.
    apart = Word("e east", (45, 0, 110, 20), 0.9, glyphs("e", 21) + glyphs("east", 60))
    unplaced = Word("e east", (18, 0, 90, 20), 0.9)
    assert [w.text for w in drop_repeated_glyphs([the, apart])] == ["the", "e east"]
    assert [w.text for w in drop_repeated_glyphs([the, unplaced])] == ["the", "e east"]
    # A box that only repeated its neighbour disappears.
    echo = Word("e", (18, 0, 35, 20), 0.9, glyphs("e", 21))
    assert [w.text for w in drop_repeated_glyphs([the, echo])] == ["the"]


def test_rapidocr_puts_word_boxes_back_into_lines_in_reading_order(rapidocr: RapidOcrBackend) -> None:
    rows = ["Quarterly report on", "water levels in", "the northern basin"]
    font = ImageFont.truetype(str(DEJAVU), 36)
    page = Image.new("L", (900, 330), 255)
    draw = ImageDraw.Draw(page)
    for index, row in enumerate(rows):
        draw.text((40, 40 + index * 90), row, font=font, fill=0)
    result = rapidocr.recognize(page, language="en")
    assert [normalise(line.text) for line in result.lines] == rows
    assert result.text == "\n".join(line.text for line in result.lines)
    tops = [line.box[1] for line in result.lines if line.box]
    assert tops == sorted(tops)


def test_line_grouping_orders_boxes_given_out_of_order() -> None:
    words = [
        Word("world", (120, 12, 220, 40), 0.9),
        Word("second", (10, 62, 110, 90), 0.9),
        Word("hello", (10, 10, 100, 42), 0.9),
        Word("line", (130, 60, 200, 92), 0.9),
    ]
    lines = group_into_lines(words)
    assert [[w.text for w in line] for line in lines] == [["hello", "world"], ["second", "line"]]


def test_rapidocr_reads_nothing_on_a_blank_page(rapidocr: RapidOcrBackend) -> None:
    result = rapidocr.recognize(Image.new("RGB", (400, 300), "white"), language="en")
    assert result.text == "" and result.lines == []


def test_rapidocr_gives_onnxruntime_only_its_threads(rapidocr: RapidOcrBackend, real_dev: Path) -> None:
    image, _ = image_of(real_dev, ENGLISH_LINES[0])
    rapidocr.recognize(image, language="en")  # models load on first use
    for stage in (rapidocr._engine.text_det, rapidocr._engine.text_rec):
        options = stage.session.session.get_session_options()
        assert options.intra_op_num_threads == 1
    assert rapidocr.thread_settings()["onnxruntime_intra_op_threads"] == 1


def test_rapidocr_declares_only_languages_its_dictionary_can_spell() -> None:
    import onnxruntime

    model = _model_dir()
    assert model is not None
    session = onnxruntime.InferenceSession(
        str(model / MODEL_FILES["rec"]), providers=["CPUExecutionProvider"]
    )
    dictionary = set(session.get_modelmeta().custom_metadata_map["character"].splitlines())
    letters = {
        "cs": "áčďéěíňóřšťúůýž",
        "da": "æøå",
        "de": "äöüß",
        "en": "abcdefghijklmnopqrstuvwxyz",
        "es": "áéíñóúü",
        "fi": "äöå",
        "fr": "àâæçéèêëîïôœùûüÿ",
        "hu": "áéíóöőúüű",
        "it": "àèéìíòóù",
        "ja": "あいうアイウ",
        "la": "abcdefghijklmnopqrstuvwxyz",
        "nl": "éëï",
        "no": "æøå",
        "pl": "ąćęłńóśźż",
        "pt": "áâãàçéêíóôõú",
        "ro": "ăâîșț",
        "sv": "åäö",
        "tr": "çğıöşü",
        "zh": "中文字",
    }
    declared = RapidOcrBackend.languages()
    assert set(declared) == set(letters)
    for code, alphabet in letters.items():
        missing = {c for c in alphabet + alphabet.upper() if c not in dictionary}
        assert not missing, f"{code}: the model cannot output {''.join(sorted(missing))}"
    # Vietnamese is not declared because the model cannot spell it.
    assert "vi" not in declared
    assert not {"ạ", "ế", "ử"} <= dictionary


def test_rapidocr_refuses_a_language_it_cannot_read() -> None:
    with pytest.raises(UnsupportedLanguageError) as error:
        RapidOcrBackend.engine_language("vi")
    assert "Vietnamese" in str(error.value)
    assert "en, es, fi, fr" in str(error.value)  # the supported list, sorted


def test_rapidocr_fingerprint_hashes_the_models_it_runs() -> None:
    model = _model_dir()
    assert model is not None
    expected = hashlib.sha256((model / MODEL_FILES["rec"]).read_bytes()).hexdigest()
    plain = RapidOcrBackend.fingerprint(RapidOcrBackend.Options())["models"]
    assert plain[MODEL_FILES["rec"]] == expected
    assert MODEL_FILES["cls"] not in plain
    with_classifier = RapidOcrBackend.fingerprint(RapidOcrBackend.Options(use_cls=True))["models"]
    assert MODEL_FILES["cls"] in with_classifier


def test_rapidocr_options_are_checked() -> None:
    with pytest.raises(ValidationError):
        RapidOcrBackend.Options(use_classifier=True)
    with pytest.raises(ValidationError):
        RapidOcrBackend.Options(text_score=1.5)
    with pytest.raises(ValidationError):
        RapidOcrBackend.Options(det_limit_type="auto")
    with pytest.raises(ValidationError, match="has no effect above max_side_len 2000"):
        RapidOcrBackend.Options(det_limit_side_len=3000)
    assert RapidOcrBackend.Options(det_limit_side_len=3000, max_side_len=4000).detection_side_len == 3000


def test_rapidocr_detection_limit_defaults_follow_its_type() -> None:
    assert RapidOcrBackend.Options().detection_side_len == 2000
    assert RapidOcrBackend.Options(max_side_len=3000).detection_side_len == 3000
    assert RapidOcrBackend.Options(det_limit_type="min").detection_side_len == 736  # RapidOCR's own


def test_rapidocr_options_reach_the_engine() -> None:
    options = RapidOcrBackend.Options(
        use_cls=True,
        text_score=0.8,
        box_thresh=0.3,
        det_limit_type="max",
        det_limit_side_len=960,
        unclip_ratio=1.4,
        max_side_len=2400,
    )
    backend = RapidOcrBackend(options, threads=1)
    try:
        config = backend._engine.cfg
        assert (config.Global.use_cls, config.Global.text_score, config.Det.box_thresh) == (True, 0.8, 0.3)
        assert (config.Det.limit_type, config.Det.limit_side_len) == ("max", 960)
        assert (config.Det.unclip_ratio, config.Global.max_side_len) == (1.4, 2400)
        assert config.Global.log_level == "error"  # RapidOCR's INFO lines stay out of the user's terminal
    finally:
        backend.close()


def test_rapidocr_runs_in_a_worker_with_its_options(real_dev: Path) -> None:
    state = WorkerState(threads=1)
    try:
        path = real_dev / f"{ENGLISH_LINES[1]}.png"
        task = Task(str(path), BackendSpec.of("rapidocr", {"use_cls": True}), pipeline="grayscale")
        outcome = run_task(task, state)
    finally:
        state.close()
    assert outcome.ok, outcome.error_message
    truth = (real_dev / f"{ENGLISH_LINES[1]}.gt.txt").read_text(encoding="utf-8")
    assert cer(truth, outcome.text or "") < 0.05
    assert outcome.cold and outcome.thread_settings["onnxruntime_intra_op_threads"] == 1


# --- Tesseract ---------------------------------------------------------------


@pytest.mark.parametrize("stem", ENGLISH_LINES)
def test_tesseract_reads_english_lines(tesseract: TesseractBackend, real_dev: Path, stem: str) -> None:
    image, truth = image_of(real_dev, stem)
    result = tesseract.recognize(image, language="en")
    assert cer(truth, result.text) < 0.05, result.text
    assert len(result.lines) == 1
    line = result.lines[0]
    assert line.box is not None and 0 <= line.box[0] < line.box[2] <= image.width
    assert line.confidence is not None and 0.5 < line.confidence <= 1


def test_tesseract_reads_a_french_line_with_its_accents(tesseract: TesseractBackend, real_dev: Path) -> None:
    image, truth = image_of(real_dev, FRENCH_LINE)
    text = tesseract.recognize(image, language="fr").text
    assert "é" in unicodedata.normalize("NFC", text)
    assert cer(truth, text) < 0.2, text


def test_tesseract_reads_vietnamese_diacritics(tesseract: TesseractBackend) -> None:
    line = "Người đẹp ở trường học mới"
    text = tesseract.recognize(rendered_line(line), language="vi").text
    assert normalise(text) == line
    for letter in ["ư", "ờ", "đ", "ẹ", "ở", "ớ"]:
        assert letter in text


def test_tesseract_assumes_a_resolution_for_bogus_dpi_tags(
    tesseract: TesseractBackend, real_dev: Path
) -> None:
    image, truth = image_of(real_dev, ENGLISH_LINES[2])
    assert tesseract.recognize(image, language="en").notes["dpi_source"] == "image"
    image.info["dpi"] = (1, 1)  # as on the real-dev TIFFs
    result = tesseract.recognize(image, language="en")
    assert result.notes["dpi"] == 300 and result.notes["dpi_source"] == "assumed"
    assert cer(truth, result.text) < 0.05


def test_tesseract_reads_nothing_on_a_blank_page(tesseract: TesseractBackend) -> None:
    # An empty page is an empty text (scored as all deletions), not a failed job.
    recognition = tesseract.recognize(Image.new("L", (400, 300), 255), language="en")
    assert recognition.text == ""
    assert recognition.lines == []


def test_tesseract_reuses_one_api_per_language(tesseract: TesseractBackend) -> None:
    image = rendered_line("same engine")
    tesseract.recognize(image, language="en")
    first = tesseract._apis["eng"]
    tesseract.recognize(image, language="en")
    tesseract.recognize(rendered_line("même moteur"), language="fr")
    assert tesseract._apis["eng"] is first
    assert set(tesseract._apis) >= {"eng", "fra"}


def test_tesseract_limits_openmp_to_its_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_THREAD_LIMIT", "8")
    backend = TesseractBackend(threads=1)
    try:
        assert backend.thread_settings() == {"threads": 1, "OMP_THREAD_LIMIT": "1"}
    finally:
        backend.close()


def test_tesseract_refuses_a_language_without_traineddata() -> None:
    with pytest.raises(UnsupportedLanguageError) as error:
        TesseractBackend.engine_language("ru")
    message = str(error.value)
    assert "Russian" in message
    assert f"it can read: {', '.join(sorted(TesseractBackend.languages()))}" in message
    assert {"en", "fr", "vi"} <= set(TesseractBackend.languages())


def test_tesseract_languages_follow_the_traineddata_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "eng.traineddata").symlink_to("/usr/share/tesseract-ocr/5/tessdata/eng.traineddata")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    assert TesseractBackend.languages() == {"en": "eng"}
    assert list(TesseractBackend.fingerprint(TesseractBackend.Options())["traineddata"]) == [
        "eng.traineddata"
    ]


def test_tesseract_unavailable_without_traineddata_says_how_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    availability = TesseractBackend.availability()
    assert not availability.ok
    assert str(tmp_path) in availability.reason
    assert "apt-get install tesseract-ocr-eng" in availability.fix and "TESSDATA_PREFIX" in availability.fix
    assert TesseractBackend.languages() == {}


def test_tesseract_options_are_checked() -> None:
    with pytest.raises(ValidationError, match="psm 0 does not recognise text"):
        TesseractBackend.Options(psm=0)
    with pytest.raises(ValidationError):
        TesseractBackend.Options(dpi=1)


def test_tesseract_runs_in_a_worker_with_a_pipeline(real_dev: Path) -> None:
    state = WorkerState(threads=1)
    try:
        path = real_dev / f"{ENGLISH_LINES[0]}.png"
        spec = BackendSpec.of("tesseract", {"psm": 7})
        outcome = run_task(Task(str(path), spec, pipeline="grayscale|binarize(method=otsu)"), state)
        refused = run_task(Task(str(path), spec, language="ru"), state)
    finally:
        state.close()
    assert outcome.ok, outcome.error_message
    truth = (real_dev / f"{ENGLISH_LINES[0]}.gt.txt").read_text(encoding="utf-8")
    assert cer(truth, outcome.text or "") < 0.05
    assert refused.error_type == "UnsupportedLanguageError"


# --- both --------------------------------------------------------------------


def test_main_process_questions_start_no_engine() -> None:
    code = """
import json, sys
from ocr_harness_plugins.backends.rapidocr import RapidOcrBackend
from ocr_harness_plugins.backends.tesseract import TesseractBackend
for backend in (RapidOcrBackend, TesseractBackend):
    backend.version(); backend.availability(); backend.languages()
    backend.fingerprint(backend.Options())
print(json.dumps(sorted(sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = {name.partition(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & {"rapidocr", "onnxruntime", "tesserocr", "cv2", "numpy"}


def test_versions_name_the_engines() -> None:
    assert RapidOcrBackend.version()[0].isdigit()
    assert "libtesseract 5." in TesseractBackend.version()


def test_tesseract_auto_psm_reads_line_images_as_one_line(
    tesseract: TesseractBackend, real_dev: Path
) -> None:
    line = load_page(real_dev / "line_en_uw3_0033_010060.png")
    page = Image.new("L", (600, 800), 255)
    assert tesseract.recognize(line, language="en").notes["psm"] == 7
    assert tesseract.recognize(page, language="en").notes["psm"] == 3
    assert TesseractBackend.Options().psm == "auto"


def test_engines_place_words_inside_their_lines(
    rapidocr: RapidOcrBackend, tesseract: TesseractBackend
) -> None:
    rows = ["Quarterly report on", "water levels in"]
    font = ImageFont.truetype(str(DEJAVU), 36)
    page = Image.new("L", (900, 240), 255)
    for index, row in enumerate(rows):
        ImageDraw.Draw(page).text((40, 40 + index * 90), row, font=font, fill=0)
    for backend in (rapidocr, tesseract):
        lines = backend.recognize(page, language="en").lines
        assert [normalise(line.text) for line in lines] == rows, backend.name
        for line in lines:
            assert " ".join(word.text for word in line.words) == line.text
            assert line.box is not None
            lefts = []
            for word in line.words:
                assert word.box is not None and word.confidence is not None and 0 < word.confidence <= 1
                assert line.box[0] - 2 <= word.box[0] < word.box[2] <= line.box[2] + 2, (backend.name, word)
                lefts.append(word.box[0])
            assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts)
