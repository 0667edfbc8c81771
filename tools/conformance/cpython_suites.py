"""CPython's test_asyncio suites, parametrised with eventloop's classes.

CPython writes most of its suites once and runs them several times: a mixin of
tests (`EventLoopTestsMixin`, `BaseSockTestsMixin`, `BaseTaskTests`, ...) and one
small subclass per implementation, whose `create_event_loop()`, `new_loop()`,
`cls`, `Task` or `Future` names what is tested. `suites_for(name, module)` makes
the subclasses that name ours, the same way.

Used by tools/conformance.py (which injects them into CPython's module) and by
tests/cpython/ (pytest runs the Future and Task suites). Standard library only.
"""
import asyncio
import importlib

import eventloop

#: The subject a suite tests when the test itself runs on asyncio's virtual-time
#: TestLoop: our Future or Task classes rather than our loop.
SUBJECT = "conformance_subject"


def new_loop():
    """The loop every suite below gets; tools/conformance/worker.py counts its calls."""
    return loop_factory()


loop_factory = eventloop.EventLoop


def _loop_method(self):
    return new_loop()


def _subclass(base, name, module_name, **namespace):
    return type(name, (base,), {"__module__": module_name, "__qualname__": name, **namespace})


def _events(module, module_name):
    # Built as CPython builds its Unix selector loops' suites (EPollEventLoopTests and the
    # like): the Unix mixin, whose setUp attaches a SafeChildWatcher to the loop (that is,
    # loop.add_signal_handler(SIGCHLD)), then the subprocess tests and the test case.
    test_utils = importlib.import_module("test.test_asyncio.utils")
    name = "EventloopEventLoopTests"
    return {name: type(name, (module.UnixEventLoopTestsMixin, module.SubprocessTestsMixin, test_utils.TestCase),
                       {"__module__": module_name, "__qualname__": name, "create_event_loop": _loop_method})}


def _create_event_loop_suite(class_name):
    def suites(module, module_name):
        return {"EventloopTests": _subclass(getattr(module, class_name), "EventloopTests", module_name,
                                            create_event_loop=_loop_method)}
    return suites


def _new_loop_suite(class_name):
    def suites(module, module_name):
        return {"EventloopTests": _subclass(getattr(module, class_name), "EventloopTests", module_name,
                                            new_loop=_loop_method)}
    return suites


def _unix_events(module, module_name):
    def setUp(self):
        super(cls, self).setUp()
        self.loop = new_loop()
        self.set_event_loop(self.loop)
    cls = _subclass(module.SelectorEventLoopUnixSocketTests, "EventloopUnixSocketTests", module_name,
                    setUp=setUp)
    return {"EventloopUnixSocketTests": cls}


def _runners(module, module_name):
    # CPython's BaseTest.new_loop() is a BaseEventLoop with a mocked selector, whose
    # shutdown_asyncgens() notes that it ran (tearDown asserts it). Ours is real: we
    # only note the call, then do the real shutdown.
    def new_loop_noting_asyncgens_shutdown(self):
        loop = new_loop()
        loop.shutdown_ag_run = False
        real_shutdown_asyncgens = loop.shutdown_asyncgens

        async def shutdown_asyncgens():
            loop.shutdown_ag_run = True
            await real_shutdown_asyncgens()
        loop.shutdown_asyncgens = shutdown_asyncgens
        return loop
    return {name: _subclass(getattr(module, base), name, module_name, new_loop=new_loop_noting_asyncgens_shutdown)
            for name, base in (("EventloopRunTests", "RunTests"), ("EventloopRunnerTests", "RunnerTests"))}


def _futures(module, module_name):
    test_utils = importlib.import_module("test.test_asyncio.utils")

    class SubFuture(eventloop.Future):
        pass

    def new_future(self):
        return eventloop.Future(loop=self.loop)

    def get_future_cls(self):
        return eventloop.Future

    def test_isfuture_and_wrap(self):
        """asyncio's functions take our futures for futures."""
        loop = self.new_test_loop()
        fut = eventloop.Future(loop=loop)
        self.assertTrue(asyncio.isfuture(fut))
        self.assertIs(asyncio.ensure_future(fut), fut)
        fut.cancel()

    suites = {
        "EventloopFutureTests": ((module.BaseFutureTests,), {"cls": eventloop.Future}),
        "EventloopSubFutureTests": ((module.BaseFutureTests,), {"cls": SubFuture}),
        "EventloopFutureDoneCallbackTests": ((module.BaseFutureDoneCallbackTests,), {"_new_future": new_future}),
        "EventloopFutureInheritanceTests": ((module.BaseFutureInheritanceTests,),
                                            {"_get_future_cls": get_future_cls}),
        "EventloopDuckTypingTests": ((), {"test_isfuture_and_wrap": test_isfuture_and_wrap}),
    }
    return {name: type(name, (*bases, test_utils.TestCase),
                       {"__module__": module_name, "__qualname__": name, SUBJECT: "eventloop.Future", **namespace})
            for name, (bases, namespace) in suites.items()}


def _futures2(module, module_name):
    import unittest
    name = "EventloopTaskTests"  # FutureTests' `cls` is a Task class
    return {name: type(name, (module.FutureTests, unittest.IsolatedAsyncioTestCase),
                       {"__module__": module_name, "__qualname__": name, "cls": eventloop.Task,
                        SUBJECT: "eventloop.Task"})}


def _pep492(module, module_name):
    # CPython's BaseTest.setUp() makes a BaseEventLoop with a mocked selector.
    test_utils = importlib.import_module("test.test_asyncio.utils")

    def setUp(self):
        test_utils.TestCase.setUp(self)
        self.loop = new_loop()
        self.set_event_loop(self.loop)
    return {f"Eventloop{base}": _subclass(getattr(module, base), f"Eventloop{base}", module_name, setUp=setUp)
            for base in ("LockTests", "StreamReaderTests", "CoroutineTests")}


def _tasks(module, module_name):
    """BaseTaskTests with every pair that involves ours: mixed pairs prove that the
    `_asyncio_future_blocking` protocol works both ways."""
    from asyncio import futures, tasks
    test_utils = importlib.import_module("test.test_asyncio.utils")
    c_future = getattr(futures, "_CFuture", futures._PyFuture)
    c_task = getattr(tasks, "_CTask", tasks._PyTask)
    suites = {
        "EventloopTask_EventloopFuture_Tests": ((module.BaseTaskTests, module.SetMethodsTest),
                                                eventloop.Task, eventloop.Future),
        "EventloopTask_EventloopFuture_SubclassTests": ((module.BaseTaskTests,), eventloop.Task, eventloop.Future),
        "EventloopTask_CFuture_Tests": ((module.BaseTaskTests,), eventloop.Task, c_future),
        "CTask_EventloopFuture_Tests": ((module.BaseTaskTests,), c_task, eventloop.Future),
    }
    classes = {}
    for name, (bases, task, future) in suites.items():
        cls = type(name, (*bases, test_utils.TestCase),
                   {"__module__": module_name, "__qualname__": name, "Task": task, "Future": future,
                    SUBJECT: "eventloop.Task" if task is eventloop.Task else "eventloop.Future"})
        if "Subclass" in name:
            cls = module.add_subclass_tests(cls)
        classes[name] = cls

    def new_task(self, coro):
        return eventloop.Task(coro, loop=self.loop)
    classes["EventloopCurrentLoopTests"] = type(
        "EventloopCurrentLoopTests", (module.BaseCurrentLoopTests, test_utils.TestCase),
        {"__module__": module_name, "__qualname__": "EventloopCurrentLoopTests", SUBJECT: "eventloop.Task",
         "new_task": new_task,
         "current_task": staticmethod(asyncio.current_task)})  # 3.12+ reads it; 3.11 calls asyncio's
    return classes


_SUITES = {
    "test_events": _events,
    "test_sendfile": _create_event_loop_suite("SelectEventLoopTests"),
    "test_sock_lowlevel": _create_event_loop_suite("SelectEventLoopTests"),
    "test_buffered_proto": _new_loop_suite("BufferedProtocolSelectorTests"),
    "test_server": _new_loop_suite("SelectorStartServerTests"),
    "test_sslproto": _new_loop_suite("SelectorStartTLSTests"),
    "test_unix_events": _unix_events,
    "test_runners": _runners,
    "test_futures": _futures,
    "test_futures2": _futures2,
    "test_pep492": _pep492,
    "test_tasks": _tasks,
}


def suites_for(name, module, module_name=None):
    """{class name: TestCase subclass}: CPython's suites in `module` (test_asyncio's
    `name`), parametrised with ours; `module_name` becomes their __module__."""
    make = _SUITES.get(name)
    return make(module, module_name or module.__name__) if make else {}
