"""Real libraries on our loop: aiohttp (server and client), httpx, anyio.

None of them knows our loop. aiohttp's server stands on `loop.create_server`
and Protocols; its client resolves with `getaddrinfo`, connects with
`sock_connect` (aiohappyeyeballs) and wraps the socket with
`create_connection(sock=...)`; httpx reaches the loop through anyio, whose
streams stand on `create_connection` and Protocols, whose cancel scopes on task
cancellation, and whose worker threads report back with `call_soon_threadsafe`. Each
scenario runs on asyncio's loop and on ours (`loops.compare`), so what is
checked is that ours tells the same story as asyncio's, byte for byte.
(They are pinned in pyproject.toml's `libraries` extra; the package never imports them:
test_package.py checks that it imports only the standard library.)
"""
import asyncio
import hashlib

import anyio
import anyio.abc
import httpx
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
            async with httpx.AsyncClient(base_url=base) as client:
                async def post(number):
                    response = await client.post("/digest", params={"n": number}, content=body(number, 256 * 1024))
                    return response.status_code, response.json()

                posted = await asyncio.gather(*(post(number) for number in range(30)))
                digest = hashlib.sha256()
                async with client.stream("GET", "/download") as response:
                    await asyncio.sleep(0.3)
                    async for piece in response.aiter_bytes():
                        digest.update(piece)
            return posted, digest.hexdigest()
        finally:
            await runner.cleanup()

    posted, downloaded = loops.compare(lambda loop: run(loop, scenario()))
    assert posted[29] == (200, {"bytes": 256 * 1024, "sha256": hashlib.sha256(body(29, 256 * 1024)).hexdigest(),
                                "query": {"n": "29"}})
    assert downloaded == hashlib.sha256(b"".join(body(piece, 64 * 1024) for piece in range(DOWNLOAD_PIECES))).hexdigest()


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
