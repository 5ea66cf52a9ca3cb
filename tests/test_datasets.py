"""Dataset formats (folder, image/multi-page TIFF, manifest, PAGE-XML, ALTO), loading, fingerprint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ocr_harness_plugins.datasets.groundtruth import read_ground_truth
from PIL import Image

from harness.datasets import dataset_fingerprint, load_dataset
from harness.errors import DatasetError

XML_PAGES = [
    ("page_de_bebel1879_0146", ".page.xml", ".tif"),
    ("page_de_laube1837_0105", ".page.xml", ".jpg"),
    ("page_fr_fauxvisage1589_p010", ".alto.xml", ".png"),
]


def write_png(path: Path, size: tuple[int, int] = (40, 20)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, 255).save(path)
    return path


def by_id(dataset) -> dict:
    return {sample.id: sample for sample in dataset.samples}


# --- folder -----------------------------------------------------------------------


def test_folder_reads_images_with_same_stem_ground_truth_recursively(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    (tmp_path / "a.gt.txt").write_text("first line\n", encoding="utf-8")
    write_png(tmp_path / "sub" / "b.jpg")
    (tmp_path / "sub" / "b.gt.txt").write_text("zweite Zeile\n", encoding="utf-8")
    write_png(tmp_path / ".hidden" / "c.png")
    (tmp_path / "notes.txt").write_text("not a sample", encoding="utf-8")

    dataset = load_dataset(tmp_path)

    assert dataset.format == "folder"
    assert dataset.name == tmp_path.name
    samples = by_id(dataset)
    assert sorted(samples) == ["a", "sub/b"]
    assert samples["a"].ground_truth == "first line\n"
    assert samples["a"].ground_truth_path == tmp_path / "a.gt.txt"
    assert samples["sub/b"].image == tmp_path / "sub" / "b.jpg"
    assert all(sample.dataset == tmp_path.name and sample.problem is None for sample in dataset.samples)


def test_dataset_toml_sets_name_language_licence_tags_and_per_sample_tags_add_to_them(tmp_path: Path) -> None:
    (tmp_path / "dataset.toml").write_text(
        'name = "letters"\nlanguage = "fr"\nlicence = "CC0-1.0"\ndescription = "Letters"\n'
        '[tags]\nsource = "archive"\nbatch = 1\n',
        encoding="utf-8",
    )
    write_png(tmp_path / "x.png")
    (tmp_path / "x.gt.txt").write_text("lettre\n", encoding="utf-8")
    (tmp_path / "x.tags.json").write_text('{"batch": 2, "skew_deg": 1.5}', encoding="utf-8")

    dataset = load_dataset(tmp_path)

    sample = dataset.samples[0]
    assert dataset.name == "letters" and sample.dataset == "letters"
    assert sample.language == "fr"
    assert sample.tags == {"source": "archive", "batch": 2, "skew_deg": 1.5}
    assert dataset.metadata["licence"] == "CC0-1.0"
    assert dataset.metadata["description"] == "Letters"


def test_dataset_toml_typo_is_an_error_naming_file_and_suggesting_the_key(tmp_path: Path) -> None:
    (tmp_path / "dataset.toml").write_text('license = "MIT"\n', encoding="utf-8")
    write_png(tmp_path / "x.png")
    with pytest.raises(DatasetError) as error:
        load_dataset(tmp_path)
    assert str(tmp_path / "dataset.toml") in str(error.value)
    assert "'license'" in str(error.value) and "licence" in str(error.value)


def test_language_from_stem_takes_a_known_code_token_and_falls_back_to_the_default(tmp_path: Path) -> None:
    for stem in ("page_de_0001", "line_fr_x", "scan_0003"):
        write_png(tmp_path / f"{stem}.png")
    default = by_id(load_dataset(tmp_path))
    assert {sample.language for sample in default.values()} == {"en"}

    inferred = by_id(load_dataset(tmp_path, settings={"language_from_stem": True, "language": "es"}))
    assert inferred["page_de_0001"].language == "de"
    assert inferred["line_fr_x"].language == "fr"
    assert inferred["scan_0003"].language == "es"


def test_real_dev_loads_as_is_preferring_gt_txt(real_dev: Path) -> None:
    dataset = load_dataset(real_dev, settings={"language_from_stem": True})
    samples = by_id(dataset)
    assert len(samples) == 61
    assert all(sample.problem is None and sample.ground_truth for sample in samples.values())
    bebel = samples["page_de_bebel1879_0146"]
    assert bebel.ground_truth_path == real_dev / "page_de_bebel1879_0146.gt.txt"
    assert bebel.language == "de"
    assert samples["line_fr_ocr17_racine1679_001649"].language == "fr"


# --- PAGE-XML and ALTO ---------------------------------------------------------------


@pytest.mark.parametrize(("stem", "xml_suffix", "image_suffix"), XML_PAGES)
def test_xml_ground_truth_equals_the_derived_gt_txt_exactly(
    real_dev: Path, tmp_path: Path, stem: str, xml_suffix: str, image_suffix: str
) -> None:
    expected = (real_dev / f"{stem}.gt.txt").read_text(encoding="utf-8")
    assert read_ground_truth(real_dev / f"{stem}{xml_suffix}") == expected

    # Without a .gt.txt the folder format falls back to the XML beside the image.
    shutil.copy(real_dev / f"{stem}{image_suffix}", tmp_path)
    shutil.copy(real_dev / f"{stem}{xml_suffix}", tmp_path)
    (sample,) = load_dataset(tmp_path).samples
    assert sample.ground_truth == expected
    assert sample.ground_truth_path == tmp_path / f"{stem}{xml_suffix}"

    # The XML file on its own is a dataset too: its stale image name falls back to the same stem.
    (alone,) = load_dataset(tmp_path / f"{stem}{xml_suffix}").samples
    assert alone.problem is None and alone.image == tmp_path / f"{stem}{image_suffix}"
    assert alone.ground_truth == expected


def test_page_lines_are_sorted_top_to_bottom_not_in_xml_order(real_dev: Path) -> None:
    # The real page stores lines out of order: a reader keeping XML order gets different text.
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.parse(real_dev / "page_de_bebel1879_0146.page.xml").getroot()
    xml_order = [
        unicode.text or ""
        for unicode in root.iter("{http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15}Unicode")
    ]
    assert "".join(line + "\n" for line in xml_order) != read_ground_truth(
        real_dev / "page_de_bebel1879_0146.page.xml"
    )


PAGE_2013 = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15">
  <Page imageFilename="scans/p1.png" imageWidth="100" imageHeight="100">
    <ReadingOrder>
      <OrderedGroup id="g0">
        <RegionRefIndexed regionRef="r2" index="1"/>
        <UnorderedGroupIndexed id="g1" index="0">
          <RegionRef regionRef="r1"/>
        </UnorderedGroupIndexed>
      </OrderedGroup>
    </ReadingOrder>
    <TextRegion id="r2">
      <TextLine id="l3"><Coords points="0,50 9,50 9,59 0,59"/>
        <TextEquiv index="1"><Unicode>alternative</Unicode></TextEquiv>
        <TextEquiv index="0"><Unicode>second region</Unicode></TextEquiv>
      </TextLine>
    </TextRegion>
    <TextRegion id="r1">
      <TextLine id="l2"><Baseline points="0,30 9,30"/>
        <TextEquiv><Unicode>line two</Unicode></TextEquiv></TextLine>
      <TextLine id="l1"><Baseline points="0,10 9,12"/>
        <TextEquiv><Unicode>line one </Unicode></TextEquiv></TextLine>
    </TextRegion>
    <TextRegion id="r9">
      <TextLine id="l9"><Coords points="0,90 9,90 9,99 0,99"/>
        <Word><TextEquiv><Unicode>not</Unicode></TextEquiv></Word>
        <Word><TextEquiv><Unicode>ordered</Unicode></TextEquiv></Word>
      </TextLine>
    </TextRegion>
  </Page>
</PcGts>
"""

ALTO_2 = """<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v2#">
  <Description><sourceImageInformation><fileName>p1.png</fileName></sourceImageInformation></Description>
  <Layout><Page><PrintSpace><TextBlock>
    <TextLine><String CONTENT="A"/><SP/><String CONTENT="hyphen"/><HYP CONTENT="-"/></TextLine>
    <TextLine><String CONTENT="ated"/><SP/><String CONTENT="word."/></TextLine>
  </TextBlock></PrintSpace></Page></Layout>
</alto>
"""


def test_page_2013_reading_order_groups_text_equiv_index_and_unlisted_regions(tmp_path: Path) -> None:
    path = tmp_path / "p1.page.xml"
    path.write_text(PAGE_2013, encoding="utf-8")
    assert read_ground_truth(path) == "line one \nline two\nsecond region\nnot ordered\n"


def test_alto_v2_joins_strings_with_spaces_and_hyp_to_its_word(tmp_path: Path) -> None:
    path = tmp_path / "p1.xml"
    path.write_text(ALTO_2, encoding="utf-8")
    assert read_ground_truth(path) == "A hyphen-\nated word.\n"


def test_page_xml_format_finds_the_named_image_one_folder_up(tmp_path: Path) -> None:
    # Transkribus/OCR-D layout: images beside the page/ folder holding the XML.
    write_png(tmp_path / "scans" / "p1.png")
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "p1.xml").write_text(PAGE_2013, encoding="utf-8")

    dataset = load_dataset(tmp_path, format="page-xml")

    (sample,) = dataset.samples
    assert sample.image == tmp_path / "scans" / "p1.png"
    assert sample.ground_truth.startswith("line one")
    assert sample.problem is None


def test_page_xml_naming_a_missing_image_is_a_sample_problem(tmp_path: Path) -> None:
    (tmp_path / "p1.xml").write_text(PAGE_2013, encoding="utf-8")
    (sample,) = load_dataset(tmp_path / "p1.xml").samples
    assert "scans/p1.png" in sample.problem and str(tmp_path / "p1.xml") in sample.problem


# --- multi-page TIFF -----------------------------------------------------------------


def write_tiff(path: Path, pages: int) -> Path:
    frames = [Image.new("L", (30 + 10 * n, 20), 255) for n in range(pages)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def test_multipage_tiff_gives_one_sample_per_page_from_form_feed_ground_truth(tmp_path: Path) -> None:
    write_tiff(tmp_path / "scan.tif", 3)
    (tmp_path / "scan.gt.txt").write_text("one\n\f\ntwo\n\fthree\n\f", encoding="utf-8")

    dataset = load_dataset(tmp_path / "scan.tif")

    assert dataset.format == "image"
    assert [(s.id, s.page, s.ground_truth) for s in dataset.samples] == [
        ("scan#p1", 0, "one\n"),
        ("scan#p2", 1, "two\n"),
        ("scan#p3", 2, "three\n"),
    ]


def test_multipage_tiff_per_page_ground_truth_files_in_a_folder(tmp_path: Path) -> None:
    write_tiff(tmp_path / "scan.tiff", 2)
    (tmp_path / "scan.page1.gt.txt").write_text("eins\n", encoding="utf-8")
    (tmp_path / "scan.page2.gt.txt").write_text("zwei\n", encoding="utf-8")

    samples = by_id(load_dataset(tmp_path))

    assert sorted(samples) == ["scan#p1", "scan#p2"]
    assert samples["scan#p2"].ground_truth == "zwei\n"
    assert samples["scan#p2"].ground_truth_path == tmp_path / "scan.page2.gt.txt"


def test_multipage_tiff_with_the_wrong_number_of_ground_truth_pages_is_a_problem(tmp_path: Path) -> None:
    write_tiff(tmp_path / "scan.tif", 3)
    (tmp_path / "scan.gt.txt").write_text("one\n\ftwo\n", encoding="utf-8")
    samples = load_dataset(tmp_path).samples
    assert len(samples) == 3
    assert all("2 pages" in s.problem and "3 pages" in s.problem for s in samples)
    assert all(s.problem_file == tmp_path / "scan.gt.txt" for s in samples)


# --- manifest ------------------------------------------------------------------------


def test_jsonl_manifest_rows_with_text_path_tags_page_and_ids(tmp_path: Path) -> None:
    write_png(tmp_path / "img" / "a.png")
    write_tiff(tmp_path / "img" / "b.tif", 2)
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "b2.txt").write_text("page two\n", encoding="utf-8")
    rows = [
        {"image": "img/a.png", "ground_truth": "alpha", "language": "de", "tags": {"scanner": "x"}},
        {"image": "img/b.tif", "page": 2, "ground_truth_path": "gt/b2.txt", "id": "custom"},
        {"image": "img/a.png"},
    ]
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(row) for row in rows) + "\n\n", encoding="utf-8")

    dataset = load_dataset(manifest)

    assert dataset.format == "manifest" and dataset.name == tmp_path.name
    a, b, bare = dataset.samples
    assert (a.id, a.image, a.ground_truth, a.language, dict(a.tags)) == (
        "img/a",
        tmp_path / "img" / "a.png",
        "alpha",
        "de",
        {"scanner": "x"},
    )
    assert (b.id, b.page, b.ground_truth) == ("custom", 1, "page two\n")
    assert bare.ground_truth is None and bare.problem is None


def test_csv_manifest_with_tag_columns(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    manifest = tmp_path / "set.csv"
    manifest.write_text(
        "image,ground_truth,tag.dpi,tag.scanner\na.png,hello,300,flatbed\na.png,,,\n", encoding="utf-8"
    )
    first, second = load_dataset(manifest).samples
    assert first.ground_truth == "hello"
    assert dict(first.tags) == {"dpi": 300, "scanner": "flatbed"}
    assert second.ground_truth is None and dict(second.tags) == {}


def test_csv_manifest_with_an_unknown_column_fails_fast(tmp_path: Path) -> None:
    manifest = tmp_path / "set.csv"
    manifest.write_text("image,groundtruth\na.png,x\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="groundtruth"):
        load_dataset(manifest)


def test_manifest_paths_outside_the_root_are_refused_unless_allowed(tmp_path: Path) -> None:
    outside = write_png(tmp_path / "elsewhere" / "secret.png")
    (tmp_path / "elsewhere" / "secret.gt.txt").write_text("secret\n", encoding="utf-8")
    root = tmp_path / "dataset"
    write_png(root / "ok.png")
    manifest = root / "manifest.jsonl"
    manifest.write_text(
        json.dumps({"image": "ok.png", "ground_truth_path": "../elsewhere/secret.gt.txt"})
        + "\n"
        + json.dumps({"image": str(outside), "ground_truth": "x"})
        + "\n"
        + json.dumps({"image": "ok.png", "ground_truth": "fine"})
        + "\n",
        encoding="utf-8",
    )

    gt_outside, image_outside, fine = load_dataset(manifest).samples

    assert "outside the dataset folder" in gt_outside.problem and "line 1" in gt_outside.problem
    assert gt_outside.ground_truth is None  # never read
    assert image_outside.problem_file == outside and "line 2" in image_outside.problem
    assert fine.problem is None

    allowed = load_dataset(manifest, allow_outside_root=True).samples
    assert [s.problem for s in allowed] == [None, None, None]
    assert allowed[0].ground_truth == "secret\n"


def test_manifest_bad_rows_are_problems_of_their_own_sample_only(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        '{"image": "a.png", "ground_truth": "ok"}\n'
        "{not json\n"
        '{"image": "a.png", "groundtruth": "typo"}\n'
        '{"image": "a.png", "ground_truth": "x", "ground_truth_path": "a.gt.txt"}\n'
        '{"image": "a.png", "page": 0}\n',
        encoding="utf-8",
    )
    samples = load_dataset(manifest).samples
    assert samples[0].problem is None
    assert "line 2" in samples[1].problem and "not valid JSON" in samples[1].problem
    assert "'groundtruth'" in samples[2].problem
    assert "both" in samples[3].problem
    assert "'page'" in samples[4].problem
    assert {s.problem_file for s in samples[1:]} == {manifest}


# --- load_dataset errors, fingerprint --------------------------------------------------------


def test_missing_path_and_undetectable_format_are_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "nope")
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(DatasetError) as error:
        load_dataset(text)
    assert str(text) in str(error.value)
    assert all(name in str(error.value) for name in ("folder", "manifest", "image", "page-xml", "alto"))
    with pytest.raises(DatasetError, match="unknown dataset format 'coco'"):
        load_dataset(tmp_path, format="coco")
    with pytest.raises(DatasetError, match="no samples"):
        load_dataset(tmp_path)


def test_fingerprint_follows_ids_image_bytes_and_ground_truth_not_file_order(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    write_png(tmp_path / "b.png", (50, 20))
    (tmp_path / "a.gt.txt").write_text("alpha\n", encoding="utf-8")
    dataset = load_dataset(tmp_path)
    first = dataset_fingerprint(dataset)
    dataset.samples.reverse()
    assert dataset_fingerprint(dataset) == first

    (tmp_path / "a.gt.txt").write_text("alpha!\n", encoding="utf-8")
    changed_text = dataset_fingerprint(load_dataset(tmp_path))
    write_png(tmp_path / "b.png", (51, 20))
    changed_image = dataset_fingerprint(load_dataset(tmp_path))
    assert len({first, changed_text, changed_image}) == 3


def test_a_format_named_for_the_wrong_kind_of_path_is_a_dataset_error(tmp_path: Path) -> None:
    image = write_png(tmp_path / "a.png")
    with pytest.raises(DatasetError, match="needs a .jsonl or .csv file"):
        load_dataset(tmp_path, format="manifest")
    with pytest.raises(DatasetError, match="needs a folder"):
        load_dataset(image, format="folder")
