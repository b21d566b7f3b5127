"""`mlplat rag ingest|query`: the RAG service's local mode (a FAISS index on disk, the packaged embedding model);
`mlplat rag sync STACK`: repair a deployed service's index.

`query` answers with the stack's deployed Mixtral endpoint when `--endpoint-stack` is given (needs AWS
credentials); without one it prints the retrieved and compressed context. Needs the `rag` extra (faiss-cpu).
`sync` needs only AWS credentials: it runs the stack's ingest function on every document of the bucket and of
the index, so the index matches the bucket again (events lost, a restore, a changed chunking).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlplat.project import InputError

INSTALL_HINT = "the RAG local mode needs the optional extra: pip install '.[rag]'"


def add_parser(sub: argparse._SubParsersAction) -> None:
    rag = sub.add_parser("rag", help="the advanced RAG service's local mode (FAISS; needs the rag extra)")
    rsub = rag.add_subparsers(dest="rag_command", required=True)
    ingest = rsub.add_parser("ingest", help="split, embed and index a folder of .txt / .md documents")
    ingest.add_argument("folder", type=Path, help="documents to index: every .txt and .md file below it")
    ingest.add_argument("--index", required=True, type=Path, metavar="PATH",
                        help="the index folder (created; ingesting again replaces a document's chunks)")
    ingest.add_argument("--parent-size", type=int, default=2000,
                        help="characters per parent chunk, the context a query returns (default: %(default)s)")
    ingest.add_argument("--child-size", type=int, default=400,
                        help="characters per child chunk, the unit that is embedded and searched "
                             "(default: %(default)s)")
    ingest.add_argument("--child-overlap", type=int, default=50,
                        help="characters two neighbouring children share (default: %(default)s)")
    query = rsub.add_parser("query", help="retrieve, compress and (with --endpoint-stack) answer a question")
    for sub_parser in (ingest, query):
        sub_parser.add_argument(
            "--embedder", default="packaged", choices=("packaged", "hashing"),
            help="packaged: the sentence-embedding model the rag extra installs (WordLlama l2_supercat, 256 "
                 "dimensions, loaded from the installed package, nothing downloaded); hashing: feature hashing of "
                 "words, a fallback that knows no meaning (default: %(default)s). Ingest and query must use the same")
        sub_parser.add_argument(
            "--embedder-model", type=Path, metavar="FOLDER",
            help="instead of --embedder: a sentence-embedding model on disk (sentence-transformers folder with "
                 "tokenizer.json and its ONNX export, e.g. BAAI/bge-small-en-v1.5)")
    query.add_argument("question", help="the question, in quotes")
    query.add_argument("--query-instruction", default=None, metavar="TEXT",
                       help="prepended to the question before a model embeds it (default with --embedder-model: "
                            "BGE's retrieval instruction; passages never get it)")
    query.add_argument("--index", required=True, type=Path, metavar="PATH", help="an index made by `rag ingest`")
    query.add_argument("--retriever", default="parent", choices=("plain", "parent"),
                       help="plain: the matching children; parent: the parents of the matching children "
                            "(default: %(default)s)")
    query.add_argument("--compression", default="none", choices=("none", "embeddings", "llm-extract", "llm-filter"),
                       help="none; embeddings: keep sentences similar to the question; llm-extract / llm-filter: "
                            "the LLM extracts or keeps what is relevant (needs --endpoint-stack) "
                            "(default: %(default)s)")
    query.add_argument("--search", default=None, choices=("bm25", "hybrid", "dense"),
                       help="bm25: lexical (idf-weighted words); dense: the embedder's vectors; hybrid: both, fused by "
                            "reciprocal rank (default: hybrid with a sentence-embedding model, bm25 with the hashing "
                            "embedder, which is never fused by default; bench/rag_paraphrase.py and "
                            "bench/rag_retrieval.py measure the three)")
    query.add_argument("-k", type=int, default=4,
                       help="children (plain) or parents (parent) retrieved (default: %(default)s)")
    query.add_argument("--endpoint-stack", metavar="STACK",
                       help="answer with this stack's deployed LLM endpoint (needs AWS credentials)")
    query.add_argument("--llm", default="mixtral-8x7b",
                       help="the stack's endpoints[].name of the LLM (default: %(default)s)")
    sync = rsub.add_parser("sync", help="make a deployed stack's index match its bucket (needs AWS credentials)")
    sync.add_argument("stack", help="the stack whose RAG service to repair (its config gives region and names)")


#: How long `mlplat rag sync` waits for one invocation (the ingest function may run 300 s), and how many run at once.
SYNC_READ_TIMEOUT_S = 320
SYNC_WORKERS = 8


def _sync(stack: str, lambda_client=None) -> int:
    """Find the stack's ingest function (`<prefix>-rag-ingest-*`) and run its full reconciliation."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from botocore.config import Config

    from mlplat.project import find_project, load_stack_config
    from stacks.config import parse
    from stacks.errors import ConfigError

    stack_cfg = load_stack_config(find_project(), stack, None)
    try:
        cfg = parse(stack_cfg.values, stack_cfg.secret_keys, stack=stack, source=stack_cfg.source)
    except ConfigError as exc:
        raise InputError("invalid configuration: " + "; ".join(exc.problems)) from None
    if not cfg.rag.enabled:
        raise InputError(f"stack {stack}: rag.enabled is false; there is no RAG service to sync")
    # One invocation may run up to the function's 300 s: the client waits longer than that and never retries (a
    # retry after a read timeout would run the same work again; botocore's defaults are 60 s and 3 attempts).
    config = Config(read_timeout=SYNC_READ_TIMEOUT_S, connect_timeout=10, retries={"max_attempts": 1,
                                                                                   "mode": "standard"})
    client = lambda_client or boto3.session.Session(region_name=cfg.region).client("lambda", config=config)
    prefix = f"{cfg.resource_prefix}-rag-ingest-"
    names = [f["FunctionName"] for page in client.get_paginator("list_functions").paginate()
             for f in page["Functions"] if f["FunctionName"].startswith(prefix)]
    if len(names) != 1:
        raise InputError(f"expected one function named {prefix}* in {cfg.region}; found "
                         f"{', '.join(names) or 'none'} (deploy the stack first)")

    def call(event: dict) -> dict:
        answer = client.invoke(FunctionName=names[0], InvocationType="RequestResponse",
                               Payload=json.dumps(event).encode())
        payload = json.loads(answer["Payload"].read() or b"{}")
        if answer.get("FunctionError"):
            raise InputError(f"{names[0]} failed: {payload.get('errorMessage', payload)}")
        return payload

    docs = call({"sync": "list"})["documents"]
    print(f"syncing {len(docs)} documents with {names[0]} ({SYNC_WORKERS} at a time)...", file=sys.stderr,
          flush=True)
    counts: dict[str, int] = {"documents": len(docs)}
    # One invocation per document, a few at a time: no document waits behind the whole bucket, and none runs into
    # the function's timeout because the others were slow.
    with ThreadPoolExecutor(max_workers=SYNC_WORKERS) as pool:
        for done, result in enumerate(pool.map(lambda d: call({"sync": {"doc": d}}), docs), start=1):
            counts[result["result"]] = counts.get(result["result"], 0) + 1
            if done % 10 == 0 or done == len(docs):
                print(f"  {done}/{len(docs)}", file=sys.stderr, flush=True)
    print(", ".join(f"{key} {value}" for key, value in counts.items()))
    return 0


def _generator(args: argparse.Namespace):
    import boto3

    from mlplat.invoke import find_endpoint, find_inference_component
    from mlplat.project import find_project, load_stack_config
    from mlruntime.rag.retrieval import tgi_generate
    from mlruntime.sagemaker import Target
    from stacks.config import parse
    from stacks.errors import ConfigError

    stack_cfg = load_stack_config(find_project(), args.endpoint_stack, None)
    try:
        cfg = parse(stack_cfg.values, stack_cfg.secret_keys, stack=args.endpoint_stack, source=stack_cfg.source)
    except ConfigError as exc:
        raise InputError("invalid configuration: " + "; ".join(exc.problems)) from None
    if not any(e.name == args.llm for e in cfg.endpoints):
        raise InputError(f"--llm: stack {args.endpoint_stack} has no endpoint {args.llm!r} "
                         f"(endpoints: {', '.join(e.name for e in cfg.endpoints) or 'none'})")
    session = boto3.session.Session(region_name=cfg.region)
    control = session.client("sagemaker")
    name = find_endpoint(control, f"{cfg.resource_prefix}-{args.llm}")
    return tgi_generate(session.client("sagemaker-runtime"), Target(name, find_inference_component(control, name)))


def _embedder(args: argparse.Namespace):
    """The embedder of `--embedder-model FOLDER`, else of `--embedder`: the packaged model or the hashing one."""
    try:
        if args.embedder_model is not None:
            from mlruntime.embedding import ModelEmbedder
            from mlruntime.rag.retrieval import BGE_QUERY_INSTRUCTION

            instruction = getattr(args, "query_instruction", None)
            return ModelEmbedder(args.embedder_model, query_instruction=BGE_QUERY_INSTRUCTION if instruction is None
                                 else instruction)
        from mlruntime.embedding import LocalEmbedder, PackagedEmbedder

        return PackagedEmbedder() if args.embedder == "packaged" else LocalEmbedder()
    except ImportError as exc:
        raise InputError(f"{INSTALL_HINT} ({exc}); or pass --embedder hashing") from None
    except ValueError as exc:
        raise InputError(f"--embedder-model: {exc}" if args.embedder_model is not None else str(exc)) from None


def cmd(args: argparse.Namespace) -> int:
    if args.rag_command == "sync":
        return _sync(args.stack)
    try:
        from mlruntime.rag.local import LocalIndex, ingest_folder
        from mlruntime.rag.retrieval import (
            ANSWER_PROMPT,
            MAX_QUESTION_CHARS,
            compress_embeddings,
            compress_llm,
            retrieve,
        )
    except ImportError as exc:
        raise InputError(f"{INSTALL_HINT} ({exc})") from None
    embedder = _embedder(args)
    if args.rag_command == "ingest":
        if not args.folder.is_dir():
            raise InputError(f"expected a folder of .txt / .md documents; found no folder at {args.folder}")
        try:
            counts = ingest_folder(LocalIndex(args.index, embedder), args.folder, parent_size=args.parent_size,
                                   child_size=args.child_size, child_overlap=args.child_overlap)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        print(f"indexed {counts['documents']} document(s) ({counts['replaced']} replaced): {counts['parents']} "
              f"parents, {counts['children']} children in {args.index}")
        return 0
    question = args.question.strip()
    if not question or len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"question: expected 1 to {MAX_QUESTION_CHARS} characters; found {len(question)}")
    if not (args.index / "chunks.json").exists():
        raise InputError(f"--index: no index at {args.index} (run `mlplat rag ingest` first)")
    if args.compression.startswith("llm") and not args.endpoint_stack:
        raise InputError(f"--compression {args.compression} asks the LLM: pass --endpoint-stack STACK")
    hashing = embedder.name == "local"
    search = args.search or ("bm25" if hashing else "hybrid")
    if args.compression == "embeddings" and hashing:
        # The hashing embedder ranks sentences by shared hashed words, not meaning: a review measured 8 of 26
        # answers dropped by it. Compression keeps only the top sentences, so it needs a real model.
        raise InputError("--compression embeddings needs a sentence-embedding model (--embedder packaged, or "
                         "--embedder-model FOLDER): with the hashing embedder it drops sentences that answer the "
                         "question")
    try:
        index = LocalIndex(args.index, embedder)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    embed_query = getattr(index.embedder, "embed_queries", index.embedder.embed)
    vector = embed_query([question])[0]
    found = retrieve(vector, retriever=args.retriever, k=args.k, search=index.searcher(question, search),
                     parents=index.parent)
    generate = _generator(args) if args.endpoint_stack else None
    if args.compression == "embeddings":
        found = compress_embeddings(found, vector, index.embedder.embed)
    elif args.compression.startswith("llm"):
        found = compress_llm(found, question, generate, args.compression)
    print(f"# sources: {', '.join(found.sources) or 'none'} ({found.tokens()} words of context)")
    for passage in found.passages:
        print(f"[{passage.source}] {passage.text}")
    if generate is not None:
        print("\n# answer")
        print(generate(ANSWER_PROMPT.format(context=found.context(), question=question)).strip())
    sys.stdout.flush()
    return 0
