"""Runs template functions in-process, as Lambda would: same handler, same environment, one event at a time."""

from __future__ import annotations

import importlib.util
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from arrowhook_tools.local.template import LOCAL_ACCOUNT, LOCAL_REGION, FunctionSpec, LocalTemplate
from arrowhook_tools.standins import meter as metering

Handler = Callable[[dict[str, Any], Any], Any]
_import_lock = threading.Lock()


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 10.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def import_handler(spec: FunctionSpec, instance: int | str) -> ModuleType:
    """Import the handler module under a unique name, with the function's environment applied first.

    A handler's own modules beside it (Lambda puts its folder on the path: `import console_pages.alerts`)
    are imported fresh for each instance and taken out of `sys.modules` once it has loaded: two instances,
    or a reloaded generation, never share them, as two Lambda sandboxes would not. So a handler imports its
    own modules when it loads, never lazily during an invocation."""
    module_name = f"arrowhook_local_{spec.logical_id}_{instance}"
    folder = spec.module_path.parent
    with _import_lock:
        os.environ.update(spec.environment)
        module_spec = importlib.util.spec_from_file_location(module_name, spec.module_path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot import {spec.module_path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        own = _own_modules(folder, spec.module_path)
        _forget(own)
        sys.path.insert(0, str(folder))
        try:
            module_spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(folder))
            _forget(own)
    return module


def _own_modules(folder: Path, handler: Path) -> set[str]:
    """The top-level names a handler's folder adds to the path: its other modules and its packages."""
    modules = {path.stem for path in folder.glob("*.py") if path != handler}
    return modules | {path.parent.name for path in folder.glob("*/__init__.py")}


def _forget(names: set[str]) -> None:
    for loaded in [name for name in sys.modules if name.partition(".")[0] in names]:
        del sys.modules[loaded]


class _ExecutionEnvironment:
    """One warm Lambda instance: its own thread imports the module once, then runs events one by one.

    Keeping import and invocations on one thread matters: Mangum binds an asyncio event loop to the
    thread that imported the app, exactly as Lambda's single runtime thread would.
    """

    def __init__(self, spec: FunctionSpec, instance: int, generation: int = 0) -> None:
        self.spec = spec
        #: The code version it imported (FunctionPool.retire moves the pool to the next one).
        self.generation = generation
        self._requests: queue.Queue[tuple[dict[str, Any], Future[Any]] | None] = queue.Queue()
        ready: Future[Handler] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(instance, ready), name=f"{spec.logical_id}-{instance}", daemon=True
        )
        self._thread.start()
        self._handler = ready.result()

    def _run(self, instance: int, ready: Future[Handler]) -> None:
        try:
            handler: Handler = getattr(import_handler(self.spec, instance), self.spec.attribute)
        except BaseException as error:  # surfaced to the caller that asked for this instance
            ready.set_exception(error)
            return
        ready.set_result(handler)
        while (request := self._requests.get()) is not None:
            event, result = request
            try:
                context = LocalContext(
                    function_name=self.spec.logical_id,
                    memory_limit_in_mb=self.spec.memory_mb,
                    timeout_seconds=self.spec.timeout_seconds,
                )
                result.set_result(self._metered(handler, event, context))
            except BaseException as error:  # a handler crash is the invoker's error, not this thread's end
                result.set_exception(error)

    def _metered(self, handler: Handler, event: dict[str, Any], context: LocalContext) -> Any:
        """The handler's answer; with a meter running, its invocation counted (CPU time of this thread, the
        SDK calls it made, what it printed)."""
        meter = metering.active()
        if meter is None:
            return handler(event, context)
        with metering.calling_as(self.spec.logical_id) as calls:
            started = time.thread_time()
            try:
                return handler(event, context)
            finally:
                meter.invocation(self.spec.logical_id, self.spec.memory_mb, time.thread_time() - started, calls[0])

    def invoke(self, event: dict[str, Any]) -> Any:
        result: Future[Any] = Future()
        self._requests.put((event, result))
        return result.result()

    def stop(self) -> None:
        """Let its thread end (after the invocation it may be running): this instance is not used again."""
        self._requests.put(None)


class FunctionPool:
    """Up to `size` warm instances of one function; each handles one event at a time, like Lambda."""

    def __init__(self, spec: FunctionSpec, size: int = 4) -> None:
        self.spec = spec
        self.size = size
        self._idle: queue.LifoQueue[_ExecutionEnvironment] = queue.LifoQueue()
        self._created = 0
        self._generation = 0
        self._lock = threading.Lock()

    def retire(self) -> None:
        """New code: every instance is replaced; the next event starts a cold one that imports it again
        (one running now finishes on the code it has, as Lambda does after a deployment)."""
        with self._lock:
            self._generation += 1
            self._created = 0
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return

    def _current(self, environment: _ExecutionEnvironment) -> bool:
        if environment.generation == self._generation:
            return True
        environment.stop()
        return False

    def _acquire(self) -> _ExecutionEnvironment:
        while True:
            try:
                environment = self._idle.get_nowait()
            except queue.Empty:
                pass
            else:
                if self._current(environment):
                    return environment
                continue
            with self._lock:
                create = self._created < self.size
                if create:
                    self._created += 1
                    instance, generation = self._created, self._generation
            if create:
                try:
                    return _ExecutionEnvironment(self.spec, instance, generation)
                except BaseException:
                    with self._lock:
                        if generation == self._generation:
                            self._created -= 1
                    raise
            try:  # every instance busy: wait for one (or for a retire to allow new ones)
                environment = self._idle.get(timeout=0.1)
            except queue.Empty:
                continue
            if self._current(environment):
                return environment

    def invoke(self, event: dict[str, Any]) -> Any:
        environment = self._acquire()
        try:
            return environment.invoke(event)
        finally:
            if self._current(environment):
                self._idle.put(environment)


class LocalFunctions:
    def __init__(self, template: LocalTemplate, pool_size: int = 4) -> None:
        self.template = template
        self._pools = {spec.logical_id: FunctionPool(spec, pool_size) for spec in template.functions()}

    def __contains__(self, logical_id: str) -> bool:
        return logical_id in self._pools

    def names(self) -> list[str]:
        return sorted(self._pools)

    def reload(self) -> None:
        """Code changed: forget the layer's imported modules and replace every warm instance."""
        for name in [name for name in sys.modules if name == "arrowhook" or name.startswith("arrowhook.")]:
            del sys.modules[name]
        for pool in self._pools.values():
            pool.retire()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        if logical_id not in self._pools:
            raise KeyError(f"no function {logical_id!r} in template.yaml (have: {', '.join(self.names())})")
        return self._pools[logical_id].invoke(event)
