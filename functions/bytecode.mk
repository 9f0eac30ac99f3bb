# The bytecode recipe every function's Makefile includes (SAM runs each Makefile from its own path, with
# a scratch copy of the function's folder as the working directory: the include is found beside it).
#
# Lambda imports from a read-only file system: without bytecode it compiles every module from source
# on each cold start (measured: 2x the import time). Compile for the runtime's Python with hash-based
# .pyc that are never checked against the source (SAM's zips carry 1980 timestamps, so timestamp-based
# .pyc would never validate there). `make` passes BYTECODE_PYTHON; a bare `sam build` finds it itself.
BYTECODE_PYTHON ?= $(or $(shell PYENV_VERSION=3.13.0 pyenv which python 2>/dev/null),$(shell command -v python3.13 2>/dev/null))

# $(call bytecode,<what to compile>): the shipped handler, found at /var/task when Lambda runs it.
ifneq ($(BYTECODE_PYTHON),)
bytecode = "$(BYTECODE_PYTHON)" -m compileall -q --invalidation-mode unchecked-hash -s "$(ARTIFACTS_DIR)" -p /var/task "$(1)"
else
bytecode = @echo "warning: no Python 3.13 here, so no bytecode for the runtime: Lambda will compile on every cold start"
endif
