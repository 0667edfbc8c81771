"""Chapter 3: futures, and the loop that makes them (create_future).

The contract of `Future` itself — states, callbacks, errors — is pinned in
test_03_futures_contract.py; here, the loop's side and the chapter's
eight-line driver, which is the whole reason a future has `__await__`.
"""
import asyncio

CHAPTER = 3


def step(coro, results):
    """The chapter's driver: send, and resume when the yielded future is done."""
    try:
        waiting_for = coro.send(None)
    except StopIteration as stop:
        results.append(stop.value)
    else:
        waiting_for._asyncio_future_blocking = False
        waiting_for.add_done_callback(lambda future: step(coro, results))


def test_create_future_belongs_to_the_loop(el, loop):
    future = loop.create_future()
    assert asyncio.isfuture(future)
    assert future.get_loop() is loop
    assert not future.done()
    future.cancel()


def test_a_coroutine_waits_for_futures_with_the_eight_line_driver(el, loop):
    results = []

    async def add_later(a, b):
        first, second = loop.create_future(), loop.create_future()
        loop.call_later(0.02, second.set_result, b)
        loop.call_later(0.01, first.set_result, a)
        return await first + await second

    step(add_later(40, 2), results)
    loop.call_later(0.05, loop.stop)
    loop.run_forever()
    assert results == [42]


def test_an_exception_set_on_the_future_is_raised_at_the_await(el, loop):
    results = []

    async def catches():
        future = loop.create_future()
        loop.call_soon(future.set_exception, KeyError("missing"))
        try:
            await future
        except KeyError as error:
            return f"caught {error!r}"

    step(catches(), results)
    loop.call_later(0.02, loop.stop)
    loop.run_forever()
    assert results == ["caught KeyError('missing')"]


def outcome(action):
    """('ok', value) or (exception type name, message) of calling `action()`."""
    try:
        return "ok", action()
    except Exception as error:
        return type(error).__name__, str(error)


class StopIterationSubclass(StopIteration):
    pass


def test_set_exception_stop_iteration_follows_the_running_python(el, loop):
    """3.11/3.12 refuse StopIteration itself with TypeError; 3.13 stores a RuntimeError caused by it."""
    for make in (StopIteration, lambda: StopIteration("value"), StopIterationSubclass):
        results = []
        for future_class in (asyncio.futures._PyFuture, el.Future):
            future = future_class(loop=loop)
            error = make()
            result = outcome(lambda: future.set_exception(error))
            stored = future.exception() if future.done() else None
            results.append((result, type(stored).__name__, stored is not None and stored.__cause__ is error))
        assert results[1] == results[0], make
