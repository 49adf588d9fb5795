"""The sync client: push the outbox, pull until drained, over httpx (docs/sync-protocol.md).

Imported only by `sfa sync ...` commands: httpx stays off the plain CLI path.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from sfa import __version__
from sfa.domain.errors import AuthError, SfaError, SyncError, UnreachableError, UsageError
from sfa.protocol import (
    GZIP_MIN,
    MAX_BATCH,
    MAX_PAGE,
    RETRY,
    WATCH_BACKOFF,
    ProtocolError,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    RetryPolicy,
)
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from sfa.sync import blobs

TOKEN_FILE = "sync.token"
LOCK_FILE = "sync.lock"
LOCK_WAIT = 60.0
CLIENT_PAGE = 2000  # changes per pull page this client asks for

Progress = Callable[[str, int, int], None]  # (phase, done, total)


class ResetNeeded(Exception):
    pass


class BusyError(SfaError):
    """Another sync of this replica is running."""


@dataclass
class Summary:
    pushed: int = 0
    pulled: int = 0
    rejected: int = 0
    conflicts: int = 0  # open conflicts after the round
    new_conflicts: int = 0
    reset: bool = False
    resent: int = 0  # records re-sent after a reset (what a restored server had lost)
    server: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "pushed": self.pushed,
            "pulled": self.pulled,
            "conflicts": self.conflicts,
            "new_conflicts": self.new_conflicts,
            "rejected": self.rejected,
            "reset": self.reset,
            "resent": self.resent,
            "server": self.server,
        }


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# -- credentials ---------------------------------------------------------------------------------


def save_token(home: Path, token: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = home / TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token.strip() + "\n")
    os.chmod(path, 0o600)


def load_token(home: Path) -> str:
    path = home / TOKEN_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise AuthError("not logged in to a sync server; run 'sfa sync login URL'") from None


def server_url(ws: Workspace) -> str:
    url = ws.setting("sync.url")
    if not url:
        raise AuthError("not logged in to a sync server; run 'sfa sync login URL'")
    return url.rstrip("/")


# -- HTTP ----------------------------------------------------------------------------------------


class Connection:
    """One server: the one retry policy (protocol.RETRY) and one mapping of answers to errors.

    `transport` replaces the network (tests run the client against the server app in-process);
    `sleep` is what waits between retries.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"User-Agent": f"sfa/{__version__}", "Accept-Encoding": "gzip"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url
        policy = retry or RETRY
        if retry is None and "SFA_SYNC_RETRIES" in os.environ:
            policy = replace(policy, retries=max(0, _env_int("SFA_SYNC_RETRIES", policy.retries)))
        self.retry = policy
        self.sleep = sleep
        # Plain http:// needs no TLS context (building one reads the CA bundle); https verifies.
        self.http = httpx.Client(
            base_url=url,
            headers=headers,
            timeout=httpx.Timeout(60.0, connect=5.0),
            verify=url.startswith("https://"),
            transport=transport,
        )
        self.bytes_sent = 0
        self.bytes_received = 0

    def close(self) -> None:
        self.http.close()

    def push(self, request: PushRequest) -> PushResponse:
        reply = self.request("POST", "/v1/push", body=request.to_json())
        try:
            return PushResponse.parse(reply)
        except ProtocolError as exc:
            raise SyncError(f"the sync server sent a malformed push reply: {exc}") from None

    def pull(self, request: PullRequest) -> PullResponse:
        reply = self.request("GET", "/v1/pull", params=request.to_params())
        try:
            return PullResponse.parse(reply)
        except ProtocolError as exc:
            raise SyncError(f"the sync server sent a malformed pull page: {exc}") from None

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        content: bytes | None = None
        headers: dict[str, str] = {}
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
            if len(content) >= GZIP_MIN:
                content = gzip.compress(content, compresslevel=5)
                headers["Content-Encoding"] = "gzip"
        attempt = 0
        while True:
            failure: str
            try:
                response = self.http.request(method, path, params=params, content=content, headers=headers)
                try:
                    data = response.json() if response.content else {}
                except ValueError:
                    if response.status_code < 400:
                        raise  # a 2xx body that is not JSON was cut short: retry
                    data = {}
                if not isinstance(data, dict):
                    data = {}
                self.bytes_sent += len(content or b"") + 200
                self.bytes_received += int(response.num_bytes_downloaded)
            except RecursionError:
                raise SyncError("the sync server sent a reply nested too deep to read") from None
            except (httpx.TransportError, ValueError) as exc:
                failure = f"cannot reach the sync server at {self.url}: {_why(exc)}"
            else:
                status = response.status_code
                if status < 400:
                    return data
                if status == 401:
                    raise AuthError(
                        f"the sync server refused the token: {data.get('error', '')}; "
                        "run 'sfa sync login URL --token T'"
                    )
                if status == 409 and data.get("reset"):
                    raise ResetNeeded(str(data.get("error")))
                if status < 500:
                    raise SyncError(f"the sync server refused the request: {data.get('error', status)}")
                failure = f"the sync server failed ({status}); try again later"
            if attempt >= self.retry.retries:
                raise UnreachableError(failure)
            self.sleep(self.retry.delay(attempt))
            attempt += 1


def _why(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:120]


# -- one replica at a time -----------------------------------------------------------------------


@contextmanager
def sync_lock(
    home: Path, wait: float = LOCK_WAIT, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    handle = (home / LOCK_FILE).open("a+")
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BusyError("another sync of this data home is running; try again later") from None
                if not told and on_wait is not None:
                    on_wait()
                    told = True
                time.sleep(0.1)
        yield
    finally:
        handle.close()


# -- the round -----------------------------------------------------------------------------------


SWITCHES = ("adopt", "fresh")


class SwitchNeeded(UsageError):
    """This data home was logged in as another server user: `--adopt` or `--fresh` decides."""

    def __init__(self, previous: str, user: str) -> None:
        self.previous, self.user = previous, user
        super().__init__(
            f"this data home was logged in as {previous!r}; to log in as {user!r}, give --adopt (take over"
            " its records) or --fresh (start an empty data home; the old data is kept aside)"
        )


def login(
    ws: Workspace,
    url: str,
    token: str,
    *,
    transport: httpx.BaseTransport | None = None,
    switch: str | None = None,
) -> dict[str, Any]:
    """Check the token, keep it, and make this data home the server user's: records created before
    the first login are adopted (owner and team set, then pushed). A home that was another user's
    needs `switch`: "adopt" (take its records over, under a new client id) or "fresh" (its data file
    is moved aside and an empty one started). See docs/sync-protocol.md, "Logging in"."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise SyncError(f"{url!r} is not an http:// or https:// URL")
    if switch is not None and switch not in SWITCHES:
        raise UsageError(f"switch: {switch!r} is not one of {', '.join(SWITCHES)}")
    conn = Connection(url, token, retry=replace(RETRY, retries=1), transport=transport)
    try:
        me = conn.request("GET", "/v1/me")
    finally:
        conn.close()
    user = str(me.get("user") or "")
    team = str(me["team"]) if me.get("team") else None
    if not user:
        raise SyncError("the sync server did not say who this token belongs to")
    previous = ws.store.meta("sync.user")
    result: dict[str, Any] = {"server": url, **me, "adopted": 0}
    owners = {ws.owner}
    if previous and previous != user:
        if switch is None:
            raise SwitchNeeded(previous, user)
        result["switched"] = switch
        result["previous"] = previous
        owners.add(previous)
        if switch == "fresh":
            result["kept"] = str(ws.start_fresh(previous))
        else:
            Replica(ws.store).new_identity()
    save_token(ws.home, token)
    ws.config.set("sync.url", url)
    if not previous or switch == "adopt":
        result["adopted"] = Replica(ws.store).adopt(owners, ws.team, user, team, never_synced=not previous)
    store = ws.store
    with store.transaction():
        store.set_meta("sync.user", user)
        # The role and team the server gave: the CLI refuses early what the server would reject
        # (docs/policy.md); the server decides all the same.
        store.set_meta("sync.role", str(me.get("role") or ""))
        store.set_meta("sync.team", str(me.get("team") or ""))
        store.set_meta("sync.teams", _teams(me))
    ws.config.update({"owner": user, "team": team or ""})  # new records land in the user's scope
    ws.__dict__.pop("owner", None)
    return result


def sync_once(
    ws: Workspace,
    progress: Progress | None = None,
    *,
    conn: Connection | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Summary:
    own = conn is None
    if conn is None:
        conn = Connection(server_url(ws), load_token(ws.home))
    try:
        with sync_lock(ws.home, on_wait=on_wait):
            return _round(ws, conn, progress)
    finally:
        if own:
            conn.close()


def _round(ws: Workspace, conn: Connection, progress: Progress | None, *, again: bool = True) -> Summary:
    replica = Replica(ws.store)
    summary = Summary(server=conn.url)
    client_id = ws.store.replica_id
    batch_size = min(_env_int("SFA_SYNC_BATCH", MAX_BATCH), MAX_BATCH)
    total = replica.pending_count()
    done = 0
    reset_done = False
    # While reconciling (after a reset) the unsent writes wait for the full re-pull: the re-sends of
    # what the server lost go first (`finish_reconcile`), then the next round pushes everything.
    while not replica.reconciling:
        mutations = replica.pending(batch_size)
        if not mutations:
            break
        now = max(int(time.time() * 1000), ws.store.clock.last.ms)  # what this laptop believes now is
        try:
            reply = conn.push(PushRequest(client_id, mutations, replica.acked, now, replica.cursor))
        except ResetNeeded:
            if reset_done:
                raise SyncError("the sync server keeps asking for a reset; giving up") from None
            replica.reset_cursor()
            summary.reset = reset_done = True
            break
        if not reply.results:
            raise SyncError("the sync server acknowledged nothing; giving up this round")
        refused = replica.refused_resends
        replica.acknowledge(mutations, reply.results)
        refused = replica.refused_resends - refused  # re-sends refused: dropped, not the user's
        for result in reply.results:
            if result.status == "rejected":
                summary.rejected += 1
            else:
                summary.pushed += 1
            summary.new_conflicts += len(result.conflicts)
        summary.rejected -= refused
        done += len(mutations)
        if progress:
            progress("push", done, max(total, done))
    page = min(_env_int("SFA_SYNC_PAGE", CLIENT_PAGE), MAX_PAGE)

    # Read in this thread (the store is not shared with the prefetching one); a reset sets it.
    own = [replica.reconciling]

    def fetch(cursor: int, epoch: str | None) -> PullResponse:
        return conn.pull(PullRequest(cursor, page, epoch, client_id, own=own[0]))

    # A first sync of more than a page builds the indexes once at the end (sfa/store/deferred.py);
    # they are built whatever ends the pull, so the store is never left without them.
    deferring = False
    try:
        # The next page is fetched while this one is applied; nothing is committed out of order,
        # since a page's cursor is stored only with the page, in the main thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            reply_page: PullResponse | None = None
            while True:
                if reply_page is None:
                    try:
                        reply_page = fetch(replica.cursor, replica.epoch)
                    except ResetNeeded:
                        if reset_done:
                            raise SyncError("the sync server keeps asking for a reset; giving up") from None
                        replica.reset_cursor()
                        summary.reset = reset_done = True
                        own[0] = True
                        continue
                ahead = None
                if reply_page.more:
                    ahead = pool.submit(fetch, reply_page.cursor, reply_page.epoch or None)
                if reply_page.more and not deferring and replica.cursor == 0:
                    deferring = replica.defer_indexes()
                try:
                    replica.apply_page(reply_page.changes, reply_page.cursor, reply_page.epoch)
                except BaseException:
                    if ahead is not None:
                        ahead.cancel()
                    raise
                summary.pulled += len(reply_page.changes)
                if progress:
                    progress("pull", reply_page.cursor, reply_page.head)
                if ahead is None:
                    break
                try:
                    reply_page = ahead.result()
                except ResetNeeded:
                    reply_page = None  # fetched again from the committed cursor, which handles the reset
    finally:
        if deferring:
            replica.finish_indexes()
    if replica.reconciling:
        _refresh_identity(ws, conn)  # re-send only what the user may write now
    reconciled = replica.reconciling
    resent = replica.finish_reconcile()  # after a reset: what the server lost, queued again
    if (resent or reconciled) and again:
        more = _round(ws, conn, progress, again=False)  # push the re-sends, pull what follows
        summary.pushed += more.pushed
        summary.pulled += more.pulled
        summary.rejected += more.rejected
        summary.new_conflicts += more.new_conflicts
        summary.reset = summary.reset or more.reset
    summary.resent += resent
    replica.mark_synced()
    summary.conflicts = replica.status()["conflicts"]
    blobs.transfer(ws, conn.http)  # document contents: upload, then prime (sfa/sync/blobs.py)
    return summary


def _teams(me: dict[str, Any]) -> str:
    """A manager's other teams as /v1/me names them, kept comma-joined in the store's meta."""
    teams = me.get("teams")
    return ",".join(t for t in teams if isinstance(t, str)) if isinstance(teams, list) else ""


def _refresh_identity(ws: Workspace, conn: Connection) -> None:
    """The role and team the server gives this user now (they may have changed since login)."""
    try:
        me = conn.request("GET", "/v1/me")
    except SfaError:
        return  # keep what login stored; the server decides all the same
    if me.get("user") != ws.store.meta("sync.user"):
        return
    with ws.store.transaction():
        ws.store.set_meta("sync.role", str(me.get("role") or ""))
        ws.store.set_meta("sync.team", str(me.get("team") or ""))
        ws.store.set_meta("sync.teams", _teams(me))


def watch(
    ws: Workspace,
    interval: float,
    report: Callable[[Summary | Exception], None],
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Sync every interval, soon after local writes, and with backoff while the server is away."""
    failures = 0
    conn = Connection(server_url(ws), load_token(ws.home))
    try:
        while not stop():
            try:
                summary = sync_once(ws, conn=conn)
                failures = 0
                report(summary)
                wait = interval
            except (UnreachableError, BusyError) as exc:
                report(exc)
                wait = replace(WATCH_BACKOFF, cap=interval).delay(failures)
                failures += 1
            _sleep_until_due(ws, wait, stop, after_write=failures == 0)
    finally:
        conn.close()


def _sleep_until_due(ws: Workspace, wait: float, stop: Callable[[], bool], *, after_write: bool) -> None:
    replica = Replica(ws.store)
    deadline = time.monotonic() + wait
    seen = replica.pending_count()
    while time.monotonic() < deadline and not stop():
        time.sleep(0.5)
        if after_write:
            now = replica.pending_count()
            if now > seen:  # a local write batch: sync once it has settled
                time.sleep(1.0)
                return
