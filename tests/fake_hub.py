"""A loopback server speaking the parts of the Hugging Face Hub HTTP protocol that ``huggingface_hub`` uses to
create a repo, upload files (regular, non-LFS commits) and download them (the endpoints huggingface_hub's HfApi
calls). In memory, stdlib only, for the offline tests: the real ``huggingface_hub`` client talks to it through
``HF_ENDPOINT``.

Model repos are in ``hub.repos``, Spaces (``repo_type="space"``, with the ``sdk`` they were created with) in
``hub.spaces``, dataset repos in ``hub.datasets``, each keyed by repo id."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Repo:
    def __init__(self, sdk: str | None = None):
        self.sdk = sdk  # a Space's SDK (gradio, docker, static)
        self.files: dict[str, bytes] = {}
        self.sha = hashlib.sha1(b"empty").hexdigest()

    def commit(self, added: dict[str, bytes], deleted: list[str]) -> str:
        self.files.update(added)
        for path in deleted:
            self.files.pop(path, None)
        digest = hashlib.sha1(self.sha.encode())
        for path in sorted(self.files):
            digest.update(path.encode() + hashlib.sha1(self.files[path]).digest())
        self.sha = digest.hexdigest()
        return self.sha


KIND = r"(?P<kind>models|spaces|datasets)"
REPO = r"(?P<repo>[^/]+/[^/]+)"
REVISION = r"(?P<rev>[^/]+)"


class FakeHub:
    """``with FakeHub() as hub:`` serves on ``hub.endpoint`` (``http://127.0.0.1:<port>``)."""

    def __init__(self, user: str = "tester"):
        self.user = user
        self.repos: dict[str, Repo] = {}
        self.spaces: dict[str, Repo] = {}
        self.datasets: dict[str, Repo] = {}
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
        if method == "POST":
            body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        routes = [
            ("GET", r"/api/whoami-v2", self.whoami),
            ("POST", r"/api/repos/create", self.create_repo),
            ("POST", r"/api/validate-yaml", lambda r, b: self.json(r, {})),
            ("POST", rf"/api/{KIND}/{REPO}/preupload/(?P<rev>[^/]+)", self.preupload),
            ("POST", rf"/api/{KIND}/{REPO}/commit/(?P<rev>[^/]+)", self.commit),
            ("GET", rf"/api/{KIND}/{REPO}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?", self.tree),
            ("GET", rf"/api/{KIND}/{REPO}(?:/revision/(?P<rev>[^/]+))?", self.model_info),
            ("GET|HEAD", rf"/(?:(?P<prefix>spaces|datasets)/)?{REPO}/resolve/{REVISION}/(?P<file>.+)", self.resolve),
        ]
        for methods, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if match and method in methods.split("|"):
                request.match = {k: v for k, v in match.groupdict().items() if v is not None}
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

    def repos_of(self, request) -> dict[str, Repo]:
        """The model repos, Spaces or dataset repos, by the request's URL (``/api/spaces/...``,
        ``/spaces/.../resolve/...``)."""
        kind = request.match.get("kind") or {"spaces": "spaces", "datasets": "datasets"}.get(
            request.match.get("prefix"), "models"
        )
        return {"models": self.repos, "spaces": self.spaces, "datasets": self.datasets}[kind]

    def missing(self, request, code: str) -> None:
        self.json(request, {"error": code}, status=404, headers={"X-Error-Code": code})

    def whoami(self, request, body):
        self.json(request, {"name": self.user, "type": "user", "orgs": [], "auth": {"accessToken": {"role": "write"}}})

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
        files = json.loads(body)["files"]
        self.json(
            request, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
        )

    def commit(self, request, body):
        repo = self.repos_of(request).get(request.match["repo"])
        if repo is None:
            return self.missing(request, "RepoNotFound")
        added, deleted = {}, []
        for line in body.decode().splitlines():
            item = json.loads(line)
            if item["key"] == "file":
                added[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] in ("deletedFile", "deletedFolder"):
                deleted.append(item["value"]["path"])
        sha = repo.commit(added, deleted)
        prefix = "" if request.match["kind"] == "models" else f"{request.match['kind']}/"
        url = f"{self.endpoint}/{prefix}{request.match['repo']}/commit/{sha}"
        self.json(request, {"commitUrl": url, "commitOid": sha})

    def model_info(self, request, body):
        repo_id = request.match["repo"]
        repo = self.repos_of(request).get(repo_id)
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
        repo = self.repos_of(request).get(request.match["repo"])
        if repo is None:
            return self.missing(request, "RepoNotFound")
        prefix = request.match.get("sub", "").strip("/")
        entries = [
            {"type": "file", "path": path, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
            for path, data in sorted(repo.files.items())
            if not prefix or path.startswith(prefix + "/")
        ]
        self.json(request, entries)

    def resolve(self, request, body):
        repo = self.repos_of(request).get(request.match["repo"])
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
