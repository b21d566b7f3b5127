"""Titan Image Generator fine-tuning data: manifest validation and the hyperparameter recommender.

Pure Python (no AWS): used by `mlplat bedrock validate-data`, by config validation (a configured
local manifest is checked before a costly job starts) and by the tests.

Limits (Amazon Bedrock user guide, "Prepare data for fine-tuning image and text models" and the
Titan Image Generator G1 hyperparameter table): 5 to 10,000 images, PNG or JPEG, each line
`{"image-ref": "s3://...", "caption": "..."}`; batchSize 8–192, stepCount 10–40,000,
learningRate 1e-7–1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MIN_IMAGES, MAX_IMAGES = 5, 10_000
MAX_CAPTION_CHARS = 512
MAX_IMAGE_BYTES = 50 * 1024 * 1024
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
STEP_COUNT_RANGE = (10, 40_000)
BATCH_SIZE_RANGE = (8, 192)
LEARNING_RATE_RANGE = (1e-7, 1.0)
#: Problems reported one by one; past this a count (a broken 10,000-line manifest is one fix, not 10,000 lines).
MAX_REPORTED = 20

#: (images, recommended steps) from the reference post's table; batch size 8, learning rate 1e-5.
STEP_TABLE: tuple[tuple[int, int], ...] = ((8, 1_000), (32, 4_000), (64, 8_000), (1_000, 10_000), (10_000, 12_000))

GUIDANCE = (
    "Start from the recommended steps. If the subject or style does not appear in generated images, raise "
    "stepCount; if images show artifacts or blur, lower it. Past 40,000 steps (the service maximum) raise "
    "batchSize or learningRate instead. The reference experiment got its best results for 60 images at 5,000 "
    "steps, below the table's 7,500: validate with a few prompts before provisioning throughput."
)


def recommend_steps(images: int) -> int:
    """Steps for `images` training images: the table's rows, linear in between, clamped at both ends."""
    if images <= STEP_TABLE[0][0]:
        return STEP_TABLE[0][1]
    for (x0, y0), (x1, y1) in zip(STEP_TABLE, STEP_TABLE[1:], strict=False):
        if images <= x1:
            return round(y0 + (y1 - y0) * (images - x0) / (x1 - x0))
    return STEP_TABLE[-1][1]


@dataclass
class ManifestReport:
    path: str
    images: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self, limit: int | None = MAX_REPORTED) -> list[str]:
        """One line per problem, the first `limit` of them and then how many more (None: all)."""
        shown = self.errors if limit is None else self.errors[:limit]
        out = [f"{self.path}:{n}: {msg}" if n else f"{self.path}: {msg}" for n, msg in shown]
        if len(shown) < len(self.errors):
            out.append(f"{self.path}: ... and {len(self.errors) - len(shown)} more problem(s) not shown")
        return out


def _image_kind(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def _check_local_image(images_dir: Path, ref: str, keep_path: bool = False) -> str | None:
    """`keep_path`: `ref` is a path below `images_dir`; otherwise only its file name is looked up there."""
    shown = ref if keep_path else ref.rsplit("/", 1)[-1]
    local = images_dir / shown
    if not local.is_file():
        return f"image {shown} not found in {images_dir}"
    size = local.stat().st_size
    if size == 0 or size > MAX_IMAGE_BYTES:
        return f"image {shown} is {size} bytes; expected 1 byte to {MAX_IMAGE_BYTES // (1024 * 1024)} MiB"
    kind = _image_kind(local.read_bytes()[:8])
    expected = "png" if ref.lower().endswith(".png") else "jpeg"
    if kind is None:
        return f"image {shown} is neither PNG nor JPEG (magic bytes)"
    if kind != expected:
        return f"image {shown} is a {kind.upper()} file with a .{ref.rsplit('.', 1)[-1]} extension"
    return None


def local_image_refs(path: Path) -> list[str]:
    """The image refs of a manifest whose images are local files (paths relative to the manifest)."""
    refs = []
    for raw in path.read_text(encoding="utf-8-sig").splitlines():
        if raw.strip():
            refs.append(json.loads(raw)["image-ref"])
    return refs


def has_local_images(path: Path) -> bool:
    """Whether the manifest's first record names a local file rather than an s3:// URI."""
    try:
        first = next(line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip())
        ref = json.loads(first).get("image-ref", "")
    except (OSError, UnicodeDecodeError, StopIteration, json.JSONDecodeError, AttributeError):
        return False
    return isinstance(ref, str) and not ref.startswith("s3://")


def _record_problem(ref: object, caption: object, local_images: bool) -> str | None:
    """What is wrong with one record's image-ref and caption, or None."""
    if local_images:
        if not isinstance(ref, str) or ref.startswith(("s3://", "/")) or ".." in Path(ref).parts:
            return f"image-ref must be a path relative to the manifest (the stack uploads the image); found {ref!r}"
    elif not isinstance(ref, str) or not ref.startswith("s3://") or ref.count("/") < 3:
        return f"image-ref must be an s3:// URI; found {ref!r}"
    if not ref.lower().endswith(IMAGE_EXTENSIONS):
        return f"image-ref must end with .png, .jpg or .jpeg; found {ref!r}"
    if not isinstance(caption, str) or not caption.strip():
        return "caption must be a non-empty string"
    if len(caption) > MAX_CAPTION_CHARS:
        return f"caption has {len(caption)} characters; the limit is {MAX_CAPTION_CHARS}"
    return None


def validate_manifest(path: Path, images_dir: Path | None = None, *,
                      local_images: bool = False) -> ManifestReport:
    """Check a fine-tuning manifest.

    `local_images`: the image refs are files relative to the manifest (a manifest the stack uploads
    with its images); otherwise they are `s3://` URIs, and with `images_dir` local copies are checked.
    """
    report = ManifestReport(str(path))
    try:
        # Like the stack-file reader: a UTF-8 byte-order mark and CRLF line ends are accepted.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        report.errors.append((0, f"cannot read manifest: {exc}"))
        return report
    seen: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            report.errors.append((n, f"not JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict) or set(record) != {"image-ref", "caption"}:
            keys = sorted(record) if isinstance(record, dict) else type(record).__name__
            report.errors.append((n, f"expected exactly the keys caption, image-ref; found {keys}"))
            continue
        ref, caption = record["image-ref"], record["caption"]
        problem = _record_problem(ref, caption, local_images)
        if problem:
            report.errors.append((n, problem))
            continue
        if ref in seen:
            report.errors.append((n, f"duplicate image-ref (first on line {seen[ref]}): {ref}"))
            continue
        seen[ref] = n
        if local_images or images_dir is not None:
            problem = _check_local_image(path.parent, ref, keep_path=True) if local_images else \
                _check_local_image(images_dir, ref)  # type: ignore[arg-type]
            if problem:
                report.errors.append((n, problem))
                continue
        report.images += 1
    total = len(seen)
    if not MIN_IMAGES <= total <= MAX_IMAGES:
        report.errors.append((0, f"{total} images; fine-tuning needs {MIN_IMAGES} to {MAX_IMAGES:,}"))
    return report
