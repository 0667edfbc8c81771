"""Real libraries on our loop: aiohttp (server and client), httpx, anyio, uvicorn.

None of them knows our loop. aiohttp's server stands on `loop.create_server`
and Protocols; its client resolves with `getaddrinfo`, connects with
`sock_connect` (aiohappyeyeballs) and wraps the socket with
`create_connection(sock=...)`; httpx reaches the loop through anyio, whose
streams stand on `create_connection` and Protocols, whose cancel scopes on task
cancellation, and whose worker threads report back with `call_soon_threadsafe`;
uvicorn serves ASGI on `loop.create_server` with Protocols of its own (h11 for HTTP,
websockets for WebSocket), and its command line takes a loop factory by name. Each
scenario runs on asyncio's loop and on ours (`loops.compare`), so what is
checked is that ours tells the same story as asyncio's, byte for byte.
(They are pinned in pyproject.toml's `libraries` extra; the package never imports them:
test_package.py checks that it imports only the standard library.)
"""
import asyncio
import hashlib
import json
import signal
import subprocess
import sys
import urllib.request

import anyio
import anyio.abc
import httpx
import uvicorn
from aiohttp import ClientSession, WSMsgType, web

MiB = 1 << 20
# 8 MiB: more than the kernel's buffers take while the client waits, so that the
# server's transport pauses writing and the client's pauses reading.
DOWNLOAD_PIECES = 128


def run(loop, coroutine):
    """Run `coroutine` on `loop` as asyncio.run would (then close the loop), for at most 30 s."""
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        return runner.run(asyncio.wait_for(coroutine, 30))


def body(number: int, size: int) -> bytes:
    """`size` bytes that differ with `number` and with the place in the body."""
    seed = hashlib.sha256(b"%d" % number).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def serving(app: web.Application):
    """Start `app` on 127.0.0.1 and an unused port: (runner, base URL)."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def an_app() -> web.Application:
    async def digest(request):
        data = await request.read()
        return web.json_response({"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                  "query": dict(request.query)})

    async def download(request):
        response = web.StreamResponse()
        await response.prepare(request)
        for piece in range(DOWNLOAD_PIECES):  # chunked: each write waits while the transport is paused
            await response.write(body(piece, 64 * 1024))
        await response.write_eof()
        return response

    async def shout(request):
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                await socket.send_str(message.data.upper())
            elif message.type == WSMsgType.BINARY:
                await socket.send_bytes(message.data[::-1])
        return socket

    app = web.Application(client_max_size=4 * MiB)
    app.router.add_post("/digest", digest)
    app.router.add_get("/download", download)
    app.router.add_get("/shout", shout)
    return app


async def httpx_uploads_and_download(base: str):
    """With httpx: 30 concurrent uploads of 256 KiB to /digest, then /download read slowly."""
    async with httpx.AsyncClient(base_url=base) as client:
        async def post(number):
            response = await client.post("/digest", params={"n": number}, content=body(number, 256 * 1024))
            return response.status_code, response.json()

        posted = await asyncio.gather(*(post(number) for number in range(30)))
        digest = hashlib.sha256()
        async with client.stream("GET", "/download") as response:
            await asyncio.sleep(0.3)  # a slow reader: the server must wait for it
            async for piece in response.aiter_bytes():
                digest.update(piece)
    return posted, digest.hexdigest()


def check_uploads_and_download(posted, downloaded: str):
    """What httpx_uploads_and_download() must have got back, on either loop."""
    assert posted[29] == (200, {"bytes": 256 * 1024, "sha256": hashlib.sha256(body(29, 256 * 1024)).hexdigest(),
                                "query": {"n": "29"}})
    assert downloaded == hashlib.sha256(b"".join(body(piece, 64 * 1024) for piece in range(DOWNLOAD_PIECES))).hexdigest()


def test_aiohttp_server_and_client(loops):
    async def scenario():
        runner, base = await serving(an_app())
        try:
            async with ClientSession() as session:
                async def post(number):
                    async with session.post(f"{base}/digest", params={"n": str(number)},
                                            data=body(number, MiB)) as response:
                        return response.status, await response.json()

                posted = await asyncio.gather(*(post(number) for number in range(20)))
                async with session.get(f"{base}/download") as response:
                    await asyncio.sleep(0.3)  # a slow reader: the server must wait for it
                    downloaded = hashlib.sha256(await response.read()).hexdigest()
                    chunked = response.headers.get("Transfer-Encoding")
                async with session.ws_connect(f"{base}/shout") as socket:
                    await socket.send_str("hello")
                    text = await socket.receive_str()
                    await socket.send_bytes(b"abc")
                    binary = await socket.receive_bytes()
            return posted, downloaded, chunked, text, binary
        finally:
            await runner.cleanup()

    posted, downloaded, chunked, text, binary = loops.compare(lambda loop: run(loop, scenario()))
    assert posted[3] == (200, {"bytes": MiB, "sha256": hashlib.sha256(body(3, MiB)).hexdigest(),
                               "query": {"n": "3"}})
    assert downloaded == hashlib.sha256(b"".join(body(piece, 64 * 1024) for piece in range(DOWNLOAD_PIECES))).hexdigest()
    assert (chunked, text, binary) == ("chunked", "HELLO", b"cba")


def test_httpx_client(loops):
    async def scenario():
        runner, base = await serving(an_app())
        try:
            return await httpx_uploads_and_download(base)
        finally:
            await runner.cleanup()

    posted, downloaded = loops.compare(lambda loop: run(loop, scenario()))
    check_uploads_and_download(posted, downloaded)


def test_anyio(loops, el):
    async def main():
        trace = []

        async def reverse(client):
            async with client:
                async for data in client:
                    await client.send(data[::-1])

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, reverse)
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                for message in (b"abc", b"hello world"):
                    await stream.send(message)
                    trace.append(await stream.receive())
            trace.append(await anyio.to_thread.run_sync(sum, range(10)))
            with anyio.move_on_after(0.05) as scope:
                await anyio.sleep(10)
            trace.append(("moved on", scope.cancelled_caught))
            sender, receiver = anyio.create_memory_object_stream(1)
            async with sender, receiver:
                group.start_soon(sender.send, "through a memory stream")
                trace.append(await receiver.receive())
            group.cancel_scope.cancel()  # the listener serves forever otherwise
        await listener.aclose()
        trace.append(type(asyncio.get_running_loop()).__module__.split(".")[0])
        return trace

    def scenario(loop):
        return anyio.run(main, backend="asyncio", backend_options={"loop_factory": lambda: loop})

    reference, ours = loops.run(scenario)
    assert reference[:-1] == ours[:-1] == [b"cba", b"dlrow olleh", 45, ("moved on", True), "through a memory stream"]
    assert (reference[-1], ours[-1]) == ("asyncio", el.__name__)  # anyio ran on the loop it was given


async def an_asgi_app(scope, receive, send):
    """The aiohttp app's three routes, in bare ASGI: what uvicorn serves."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] != "websocket.disconnect":
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"].upper()})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"][::-1]})
        return
    if scope["type"] != "http":
        return  # lifespan: nothing to start
    if scope["path"] == "/digest":
        data = bytearray()
        while True:
            message = await receive()
            data += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = dict(pair.split("=") for pair in scope["query_string"].decode().split("&") if pair)
        answer = json.dumps({"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "query": query})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer.encode()})
    else:  # /download: each piece waits while the transport is paused (uvicorn's flow control)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for piece in range(DOWNLOAD_PIECES):
            await send({"type": "http.response.body", "body": body(piece, 64 * 1024), "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def test_uvicorn(loops):
    async def scenario():
        config = uvicorn.Config(an_asgi_app, host="127.0.0.1", port=0, log_level="warning",
                                http="h11", ws="websockets-sansio")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                await serving  # it failed to start: its error, now
                raise AssertionError("uvicorn's server stopped before it started")
            await asyncio.sleep(0.01)
        base = "http://127.0.0.1:%d" % server.servers[0].sockets[0].getsockname()[1]
        try:
            posted, downloaded = await httpx_uploads_and_download(base)
            async with ClientSession() as session, session.ws_connect(f"{base}/shout") as socket:
                await socket.send_str("hello")
                text = await socket.receive_str()
                await socket.send_bytes(b"abc")
                binary = await socket.receive_bytes()
        finally:
            server.should_exit = True
            await serving
        return posted, downloaded, text, binary

    posted, downloaded, text, binary = loops.compare(lambda loop: run(loop, scenario()))
    check_uploads_and_download(posted, downloaded)
    assert (text, binary) == ("HELLO", b"cba")


#: The app the command line serves: it names the loop it runs on.
WHICH_LOOP = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] == "http":
        loop = type(asyncio.get_running_loop())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": f"{loop.__module__}.{loop.__qualname__}".encode()})
"""


def test_uvicorn_command_line(tmp_path, el):
    """`uvicorn --loop eventloop:new_event_loop` serves on our loop, and stops on Ctrl-C with status 0."""
    (tmp_path / "which_loop.py").write_text(WHICH_LOOP)
    command = [sys.executable, "-c",
               # Python's own SIGINT handler, which a background job's shell may have left ignored
               "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
               "from uvicorn.main import main; sys.argv[0] = 'uvicorn'; main()",
               "--app-dir", str(tmp_path), "--port", "0", "--loop", f"{el.__name__}:new_event_loop", "which_loop:app"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as server:
        try:
            for line in server.stderr:
                if "Uvicorn running on " in line:
                    break
            else:
                raise AssertionError(f"uvicorn ended with status {server.wait()} before it served")
            address = line.split("Uvicorn running on ")[1].split()[0]
            with urllib.request.urlopen(address, timeout=10) as response:
                served_by = response.read().decode()
            server.send_signal(signal.SIGINT)
            rest = server.stderr.read()
            status = server.wait(timeout=10)
        finally:
            if server.poll() is None:
                server.kill()
    assert served_by.startswith(f"{el.__name__}.")  # ours, not asyncio's
    assert (status, "Finished server process" in rest) == (0, True), rest
