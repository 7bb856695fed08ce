"""A loopback server speaking the parts of the Hugging Face Hub HTTP protocol that ``huggingface_hub`` uses to
create a repo, upload files (regular commits, and Git LFS for Parquet files) and download them (the endpoints
huggingface_hub's HfApi calls), for model repos (``hub.repos``), Spaces (``hub.spaces``, ``repo_type="space"``, with
the ``sdk`` they were created with) and dataset repos (``hub.datasets``: enough for
``DatasetDict.push_to_hub`` and ``datasets.load_dataset``; uploading clients need ``HF_HUB_DISABLE_XET=1``, the
server speaks Git LFS, not Xet). In memory, stdlib only, for the offline tests: the real ``huggingface_hub`` client
talks to it through ``HF_ENDPOINT``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".parquet",)


class Repo:
    def __init__(self, sdk: str | None = None):
        self.sdk = sdk  # a Space's SDK (gradio, docker, static)
        self.files: dict[str, bytes] = {}
        self.sha = hashlib.sha1(b"empty").hexdigest()
        self.history: list[list[str]] = []  # the paths each commit added, in order
        self.uploaded: set[str] = set()  # every path any commit added

    def commit(self, added: dict[str, bytes], deleted: list[str]) -> str:
        self.files.update(added)
        self.history.append(sorted(added))
        self.uploaded.update(added)
        for path in deleted:
            self.files.pop(path, None)
        digest = hashlib.sha1(self.sha.encode())
        for path in sorted(self.files):
            digest.update(path.encode() + hashlib.sha1(self.files[path]).digest())
        self.sha = digest.hexdigest()
        return self.sha


class FakeHub:
    """``with FakeHub() as hub:`` serves on ``hub.endpoint`` (``http://127.0.0.1:<port>``)."""

    def __init__(self, user: str = "tester"):
        self.user = user
        self.repos: dict[str, Repo] = {}  # model repos
        self.spaces: dict[str, Repo] = {}  # Spaces
        self.datasets: dict[str, Repo] = {}  # dataset repos
        self.lfs_objects: dict[str, bytes] = {}  # Git LFS uploads by sha256
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.handle(self, "GET")

            def do_HEAD(self):
                hub.handle(self, "HEAD")

            def do_POST(self):
                hub.handle(self, "POST")

            def do_PUT(self):
                hub.handle(self, "PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- routing --------------------------------------------------------------------------------------
    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = request.path.split("?")[0]
        body = b""
        if method in ("POST", "PUT"):
            body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        kind = r"(?P<kind>models|spaces|datasets)"
        repo = r"(?P<repo>[^/]+/[^/]+)"
        routes = [
            ("GET", r"/api/whoami-v2", self.whoami),
            ("POST", r"/api/repos/create", self.create_repo),
            ("POST", r"/api/validate-yaml", lambda r, b: self.json(r, {})),
            ("POST", rf"/api/{kind}/{repo}/preupload/(?P<rev>[^/]+)", self.preupload),
            ("POST", rf"/api/{kind}/{repo}/commit/(?P<rev>[^/]+)", self.commit),
            ("POST", rf"/api/{kind}/{repo}/paths-info/(?P<rev>[^/]+)", self.paths_info),
            ("GET", rf"/api/{kind}/{repo}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?", self.tree),
            ("GET", rf"/api/{kind}/{repo}(?:/revision/(?P<rev>[^/]+))?", self.model_info),
            ("GET|HEAD", rf"/(?P<kind>datasets|spaces)/{repo}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", self.resolve),
            ("POST", r"/(?:datasets/)?(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", self.lfs_batch),
            ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]+)", self.lfs_upload),
            ("GET|HEAD", rf"/{repo}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", self.resolve),
        ]
        for methods, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if match and method in methods.split("|"):
                request.match = {k: v for k, v in match.groupdict().items() if v is not None}
                request.match["repo"] = urllib.parse.unquote(request.match.get("repo", ""))
                request.match["file"] = urllib.parse.unquote(request.match.get("file", ""))
                request.method_name = method
                return action(request, body)
        self.json(request, {"error": f"no route for {method} {path}"}, status=404)

    # -- responses ------------------------------------------------------------------------------------
    @staticmethod
    def json(request, payload, status: int = 200, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(data)

    def missing(self, request, code: str) -> None:
        self.json(request, {"error": code}, status=404, headers={"X-Error-Code": code})

    def whoami(self, request, body):
        self.json(request, {"name": self.user, "type": "user", "orgs": [], "auth": {"accessToken": {"role": "write"}}})

    def store(self, request) -> dict[str, Repo]:
        """The repos of the request's kind: ``hub.datasets``, ``hub.spaces``, else ``hub.repos``."""
        return {"datasets": self.datasets, "spaces": self.spaces}.get(request.match.get("kind"), self.repos)

    def create_repo(self, request, body):
        payload = json.loads(body)
        repo_id = f"{payload.get('organization') or self.user}/{payload['name']}"
        kind = payload.get("type") or "model"
        repos = {"model": self.repos, "space": self.spaces, "dataset": self.datasets}[kind]
        url = f"{self.endpoint}/{repo_id}" if kind == "model" else f"{self.endpoint}/{kind}s/{repo_id}"
        if repo_id in repos:
            return self.json(request, {"error": "exists", "url": url}, status=409)
        repos[repo_id] = Repo(sdk=payload.get("sdk"))
        self.json(request, {"url": url, "name": repo_id})

    def preupload(self, request, body):
        """Parquet shards go through Git LFS, as on the Hub (its default ``.gitattributes``); the rest is regular."""
        files = json.loads(body)["files"]
        modes = [(f["path"], "lfs" if f["path"].endswith(LFS_SUFFIXES) else "regular") for f in files]
        self.json(
            request, {"files": [{"path": path, "uploadMode": mode, "shouldIgnore": False} for path, mode in modes]}
        )

    def lfs_batch(self, request, body):
        """The Git LFS batch API: every object not stored yet gets a ``basic`` upload action."""
        objects = []
        for item in json.loads(body)["objects"]:
            entry = {"oid": item["oid"], "size": item["size"], "authenticated": True}
            if item["oid"] not in self.lfs_objects:
                entry["actions"] = {"upload": {"href": f"{self.endpoint}/lfs-upload/{item['oid']}"}}
            objects.append(entry)
        self.json(request, {"transfer": "basic", "objects": objects})

    def lfs_upload(self, request, body):
        if hashlib.sha256(body).hexdigest() != request.match["oid"]:
            return self.json(request, {"error": "sha256 mismatch"}, status=400)
        self.lfs_objects[request.match["oid"]] = body
        self.json(request, {})

    def commit(self, request, body):
        repo = self.store(request).get(request.match["repo"])
        if repo is None:
            return self.missing(request, "RepoNotFound")
        added, deleted = {}, []
        for line in body.decode().splitlines():
            item = json.loads(line)
            if item["key"] == "file":
                added[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] == "lfsFile":
                added[item["value"]["path"]] = self.lfs_objects[item["value"]["oid"]]
            elif item["key"] in ("deletedFile", "deletedFolder"):
                deleted.append(item["value"]["path"])
        sha = repo.commit(added, deleted)
        prefix = "" if request.match["kind"] == "models" else f"{request.match['kind']}/"
        url = f"{self.endpoint}/{prefix}{request.match['repo']}/commit/{sha}"
        self.json(request, {"commitUrl": url, "commitOid": sha})

    def model_info(self, request, body):
        repo_id = request.match["repo"]
        repo = self.store(request).get(repo_id)
        if repo is None:
            return self.missing(request, "RepoNotFound")
        siblings = [{"rfilename": path, "size": len(data)} for path, data in sorted(repo.files.items())]
        self.json(
            request,
            {
                "id": repo_id,
                "modelId": repo_id,
                "sha": repo.sha,
                "siblings": siblings,
                "private": False,
                "tags": [],
                "downloads": 0,
                "likes": 0,
            },
        )

    def tree(self, request, body):
        repo = self.store(request).get(request.match["repo"])
        if repo is None:
            return self.missing(request, "RepoNotFound")
        prefix = urllib.parse.unquote(request.match.get("sub", "")).strip("/")
        recursive = "recursive=true" in request.path.lower() or "recursive=1" in request.path
        if prefix and prefix in repo.files:
            return self.json(request, [self.entry(prefix, repo.files[prefix])])
        if prefix and not any(path.startswith(prefix + "/") for path in repo.files):
            return self.missing(request, "EntryNotFound")
        entries, folders = [], set()
        for path, data in sorted(repo.files.items()):
            if prefix and not path.startswith(prefix + "/"):
                continue
            relative = path[len(prefix) + 1 :] if prefix else path
            if not recursive and "/" in relative:
                folders.add(f"{prefix}/{relative.split('/')[0]}" if prefix else relative.split("/")[0])
                continue
            if recursive:
                parts = relative.split("/")[:-1]
                for depth in range(1, len(parts) + 1):
                    folders.add("/".join(([prefix] if prefix else []) + parts[:depth]))
            entries.append(self.entry(path, data))
        entries += [
            {"type": "directory", "path": folder, "oid": hashlib.sha1(folder.encode()).hexdigest()}
            for folder in sorted(folders)
        ]
        self.json(request, entries)

    @staticmethod
    def entry(path: str, data: bytes) -> dict:
        return {"type": "file", "path": path, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}

    def paths_info(self, request, body):
        repo = self.store(request).get(request.match["repo"])
        if repo is None:
            return self.missing(request, "RepoNotFound")
        fields = urllib.parse.parse_qs(body.decode()) if body and not body.startswith(b"{") else {}
        paths = fields.get("paths") or (json.loads(body).get("paths", []) if body.startswith(b"{") else [])
        entries = []
        for path in paths:
            if path in repo.files:
                entries.append(self.entry(path, repo.files[path]))
            elif any(name.startswith(path.rstrip("/") + "/") for name in repo.files):
                entries.append({"type": "directory", "path": path, "oid": hashlib.sha1(path.encode()).hexdigest()})
        self.json(request, entries)

    def resolve(self, request, body):
        repo = self.store(request).get(request.match["repo"])
        if repo is None:
            return self.missing(request, "RepoNotFound")
        data = repo.files.get(request.match["file"])
        if data is None:
            return self.missing(request, "EntryNotFound")
        request.send_response(200)
        request.send_header("Content-Length", str(len(data)))
        request.send_header("X-Repo-Commit", repo.sha)
        request.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
        request.send_header("Content-Type", "application/octet-stream")
        request.end_headers()
        if request.method_name == "GET":
            request.wfile.write(data)
