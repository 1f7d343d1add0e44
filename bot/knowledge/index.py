"""Build and load the FAISS index of knowledge passages.

Index choice: ``IndexFlatIP`` over unit vectors (exact cosine search). Today's base is a few
hundred passages: an exact scan takes microseconds and needs no training, so an approximate
index would only add recall loss. At about 1M chunks (384-d float32 = 1.5 GB) a flat scan costs
tens of ms per query on 2 cores; then ``IndexHNSWFlat`` (M=32, no training, ~99% recall) or
``IndexIVFPQ`` (nlist ~4096, PQ 48x8 bits, ~50 MB, trained on a sample) is the better choice;
``build`` keeps the index type in the manifest so the loader does not care.

Rebuilding only what changed: vectors are cached by the SHA-256 of (encoder, passage text);
a build embeds only passages whose text is new, then writes a fresh index from the cache
(writing a flat index of cached vectors is instant; the embedding is what costs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

from bot import settings
from bot.knowledge import encoders
from bot.knowledge.sources import KNOWLEDGE_DIR, Passage, digest, load_passages

INDEX_FILE = "index.faiss"
PASSAGES_FILE = "passages.json"
ROWS_FILE = "rows.json"  # index row -> position in passages.json
CENTROID_FILE = "centroid.npy"  # mean vector: q . centroid is a query's mean score over the base
MANIFEST_FILE = "manifest.json"


def _cache_path(out_dir: Path, encoder: str) -> Path:
    return out_dir / f"embeddings-{encoder}.npz"


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def build(out_dir: Path | None = None, encoder: str = encoders.DEFAULT_ENCODER, progress: bool = True,
          root: Path = KNOWLEDGE_DIR) -> dict:
    """Embed new or changed passages of ``root``, write index + passages + manifest; returns the manifest."""
    out_dir = out_dir or settings.knowledge_index_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    passages = load_passages(root)
    chunks = [(position, digest(encoder, text), text) for position, passage in enumerate(passages)
              for text in passage.embedded_texts]
    cache = _read_cache(_cache_path(out_dir, encoder))
    missing = list({key: text for _, key, text in chunks if key not in cache}.items())
    batch = 16
    with tqdm(total=len(missing), desc=f"embedding ({encoder})", unit="chunk", disable=not progress,
              file=sys.stderr) as bar:
        for start in range(0, len(missing), batch):
            part = missing[start:start + batch]
            for (key, _), vector in zip(part, encoders.encode(encoder, [text for _, text in part]), strict=True):
                cache[key] = vector
            bar.update(len(part))
    live = {key for _, key, _ in chunks}
    cache = {key: vector for key, vector in cache.items() if key in live}  # forget deleted texts
    _write_atomically(_cache_path(out_dir, encoder), lambda tmp: np.savez(open(tmp, "wb"), **cache))

    vectors = np.stack([cache[key] for _, key, _ in chunks]).astype(np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    _write_atomically(out_dir / INDEX_FILE, lambda tmp: faiss.write_index(index, str(tmp)))
    _write_atomically(out_dir / CENTROID_FILE, lambda tmp: np.save(open(tmp, "wb"), vectors.mean(axis=0)))
    _write_atomically(out_dir / ROWS_FILE, lambda tmp: tmp.write_text(json.dumps([c[0] for c in chunks])))
    _write_atomically(out_dir / PASSAGES_FILE, lambda tmp: tmp.write_text(
        json.dumps([asdict(p) for p in passages], ensure_ascii=False, indent=0), encoding="utf-8"))
    manifest = {"encoder": encoder, "index_type": "IndexFlatIP", "dimension": int(vectors.shape[1]),
                "vectors": int(index.ntotal), "passages": len(passages),
                "entries": len({p.entry_id for p in passages}),
                "embedded_now": len(missing), "seconds": round(time.perf_counter() - started, 2)}
    _write_atomically(out_dir / MANIFEST_FILE, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1)))
    return manifest


@dataclass(frozen=True)
class LoadedIndex:
    index: faiss.Index
    passages: list[Passage]
    rows: list[int]  # vector row -> passage position
    centroid: np.ndarray
    manifest: dict


def load(out_dir: Path | None = None) -> LoadedIndex:
    """The index with its passages, row map, centroid and manifest; a clear error if unbuilt."""
    out_dir = out_dir or settings.knowledge_index_dir()
    if not (out_dir / MANIFEST_FILE).exists():
        raise FileNotFoundError(f"no knowledge index in {out_dir}: run `python -m bot.knowledge.index`")
    manifest = json.loads((out_dir / MANIFEST_FILE).read_text())
    index = faiss.read_index(str(out_dir / INDEX_FILE))
    passages = [Passage(**{**row, "questions": tuple(row.get("questions") or ())})
                for row in json.loads((out_dir / PASSAGES_FILE).read_text(encoding="utf-8"))]
    rows = json.loads((out_dir / ROWS_FILE).read_text())
    if index.ntotal != len(rows) or max(rows, default=-1) >= len(passages):
        raise ValueError(f"knowledge index in {out_dir} is inconsistent ({index.ntotal} vectors, "
                         f"{len(rows)} rows, {len(passages)} passages); rebuild it")
    return LoadedIndex(index, passages, rows, np.load(out_dir / CENTROID_FILE), manifest)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the knowledge-base FAISS index from knowledge/.")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: ANXIN_KB_DIR)")
    parser.add_argument("--encoder", default=encoders.DEFAULT_ENCODER, choices=sorted(encoders.ENCODERS))
    args = parser.parse_args(argv)
    manifest = build(args.out, args.encoder)
    print(f"knowledge index: {manifest['passages']} passages from {manifest['entries']} entries, "
          f"{manifest['embedded_now']} embedded now, {manifest['seconds']} s -> "
          f"{args.out or settings.knowledge_index_dir()}")


if __name__ == "__main__":
    main()
