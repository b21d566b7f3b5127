"""Fine-tuning data validation on real tiny images, and the step recommender."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from components.bedrock.data import MAX_REPORTED, STEP_TABLE, recommend_steps, validate_manifest
from tests.helpers import run_cli


def _images(tmp_path: Path, n: int) -> tuple[Path, list[str]]:
    images = tmp_path / "images"
    images.mkdir()
    refs = []
    for i in range(n):
        ext = "png" if i % 2 else "jpg"
        Image.new("RGB", (16, 16), (i * 20 % 255, 80, 160)).save(images / f"img{i}.{ext}",
                                                                 "PNG" if ext == "png" else "JPEG")
        refs.append(f"s3://bucket/training/images/img{i}.{ext}")
    return images, refs


def _manifest(tmp_path: Path, records: list) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_good_manifest_with_real_images(tmp_path):
    images, refs = _images(tmp_path, 6)
    path = _manifest(tmp_path, [{"image-ref": r, "caption": f"a photo of Ron the dog #{i}"}
                                for i, r in enumerate(refs)])
    report = validate_manifest(path, images)
    assert report.ok, report.lines()
    assert report.images == 6


def test_every_bad_line_is_reported_with_its_number(tmp_path):
    images, refs = _images(tmp_path, 6)
    (images / "fake.png").write_bytes(b"GIF89a not a png")
    (images / "swapped.png").write_bytes((images / "img0.jpg").read_bytes())
    records = [{"image-ref": r, "caption": "ok"} for r in refs[:5]] + [
        "{not json",
        {"image-ref": refs[0], "caption": "again"},
        {"image-ref": "https://x/y.png", "caption": "c"},
        {"image-ref": "s3://bucket/a.gif", "caption": "c"},
        {"image-ref": "s3://bucket/b.png", "caption": ""},
        {"image-ref": "s3://bucket/c.png", "caption": "c", "extra": 1},
        {"image-ref": "s3://bucket/fake.png", "caption": "c"},
        {"image-ref": "s3://bucket/swapped.png", "caption": "c"},
        {"image-ref": "s3://bucket/missing.png", "caption": "c"},
        {"image-ref": "s3://bucket/long.png", "caption": "x" * 513},
    ]
    report = validate_manifest(_manifest(tmp_path, records), images)
    by_line = dict(report.errors)
    assert by_line[6].startswith("not JSON")
    assert "duplicate image-ref (first on line 1)" in by_line[7]
    assert "s3:// URI" in by_line[8] and ".png, .jpg or .jpeg" in by_line[9]
    assert "non-empty" in by_line[10] and "exactly the keys" in by_line[11]
    assert "neither PNG nor JPEG" in by_line[12]
    assert "is a JPEG file with a .png extension" in by_line[13]
    assert "not found" in by_line[14] and "513 characters" in by_line[15]
    assert len(report.errors) == 10


@pytest.mark.parametrize("count,ok", [(4, False), (5, True), (10_000, True), (10_001, False)])
def test_image_count_limits(tmp_path, count, ok):
    path = _manifest(tmp_path, [{"image-ref": f"s3://b/i{i}.png", "caption": "c"} for i in range(count)])
    report = validate_manifest(path)
    assert report.ok is ok
    if not ok:
        assert report.errors[-1] == (0, f"{count} images; fine-tuning needs 5 to 10,000")


def test_recommender_hits_the_table_and_interpolates():
    for images, steps in STEP_TABLE:
        assert recommend_steps(images) == steps
    assert recommend_steps(5) == 1_000
    assert recommend_steps(20) == 2_500
    assert recommend_steps(48) == 6_000
    assert recommend_steps(60) == 7_500
    assert recommend_steps(532) == 9_000
    assert recommend_steps(50_000) == 12_000


def test_cli_validate_data(tmp_path):
    images, refs = _images(tmp_path, 5)
    good = _manifest(tmp_path, [{"image-ref": r, "caption": "c"} for r in refs])
    ok = run_cli("bedrock", "validate-data", str(good), "--images-dir", str(images))
    assert ok.returncode == 0 and "5 images: OK. Recommended: stepCount=1000" in ok.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"image-ref": "s3://b/x.png"}\n')
    result = run_cli("bedrock", "validate-data", str(bad))
    assert result.returncode == 2
    assert f"{bad}:1: expected exactly the keys caption, image-ref" in result.stderr
    assert "Traceback" not in result.stderr


def test_bom_and_crlf_manifests_are_read_like_stack_files(tmp_path):
    refs = [f"s3://b/img{i}.png" for i in range(5)]
    lines = [json.dumps({"image-ref": r, "caption": "a pet"}) for r in refs]
    path = tmp_path / "crlf-bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    report = validate_manifest(path)
    assert report.ok, report.lines()
    assert report.images == 5


def test_repeated_errors_are_capped_with_a_count(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join('{"caption": "no image"}' for _ in range(45)) + "\n")
    result = run_cli("bedrock", "validate-data", str(path))
    assert result.returncode == 2
    problem_lines = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    # 45 bad lines plus "0 images": the first MAX_REPORTED, then one line with the count of the rest.
    assert len(problem_lines) == MAX_REPORTED + 1, result.stderr
    assert problem_lines[-1].endswith(f"... and {46 - MAX_REPORTED} more problem(s) not shown")
