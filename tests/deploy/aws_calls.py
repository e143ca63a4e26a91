"""Which AWS operations ecs-reconciler's code can call, found by reading its source with `ast`.

Used by `tests.deploy.iam_check` (the IAM policies in deploy/iam) and its tests. Every module
under `reconciler/` except `reconciler/local` (the local AWS emulator: test tooling that never runs
in the daemon) is parsed, and two shapes are collected:

- plan steps: `Call("<service>", "<operation>", {...})`;
- direct calls: `<client>.call("<operation>", ...)` and `<client>.paginate("<operation>", ...)`,
  where `<client>` is `<anything>.service("<service>")`, `await <anything>.client("<service>")`,
  `await <anything>.ecs()` (one accessor per service), or a name or `self.` attribute bound to one
  of those.

Strings may be literals, module constants (imported ones too), conditional expressions or
f-strings; names may be parameters, followed to every call site of their function (or class)
inside `reconciler/` (`describe_by_names(client, operation="describe_target_groups")`) and loop
variables over literal sequences. Two fallbacks, both strict: an f-string whose placeholder
cannot be followed is matched against the service's operation names and accepted when it names
at most `PATTERN_LIMIT` of them (`f"revoke_security_group_{direction}"`); a client that cannot be
followed is accepted when its operation names exist in exactly one of our services (`get_item`:
dynamodb). Anything else is reported as a problem naming the line and how to rewrite it. One
shape is skipped on purpose: `clients.service(call.service).call(call.operation, ...)`, the
executor issuing a plan `Call`, whose operations are counted where each `Call` is built.

Operations map to IAM actions through botocore's service models (the models the clients use), so
a misspelt operation is reported too.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore
import botocore.session

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "reconciler"
EXCLUDED = ("reconciler/local",)

SERVICES: Mapping[str, tuple[str, str]] = {
    # our short name: (botocore service name, IAM action prefix)
    "ecs": ("ecs", "ecs"),
    "ecr": ("ecr", "ecr"),
    "elbv2": ("elbv2", "elasticloadbalancing"),
    "ec2": ("ec2", "ec2"),
    "application-autoscaling": ("application-autoscaling", "application-autoscaling"),
    "sts": ("sts", "sts"),
    "dynamodb": ("dynamodb", "dynamodb"),
    "cloudwatch": ("cloudwatch", "cloudwatch"),
    "logs": ("logs", "logs"),
    "resourcegroupstaggingapi": ("resourcegroupstaggingapi", "tag"),
}
CLIENT_FACTORIES = frozenset({"service", "client", "_open_client"})
"""Methods whose first argument names the service of the client they return."""
CLIENT_ACCESSORS: Mapping[str, str] = {
    "ecs": "ecs",
    "ecr": "ecr",
    "elbv2": "elbv2",
    "ec2": "ec2",
    "application_autoscaling": "application-autoscaling",
    "sts": "sts",
    "dynamodb": "dynamodb",
    "cloudwatch": "cloudwatch",
}
"""`AwsClients` methods that return one service's client: `await clients.ecs()`."""
CLIENT_METHODS = frozenset({"call", "paginate"})
TAG_PARAMETERS = frozenset({"tags", "Tags", "TagSpecifications"})
PATTERN_LIMIT = 4

HOW_TO_WRITE = (
    'write the operation as a string literal or module constant (`ecs.call("describe_services", ...)`), '
    'get the client in the same function from `context.clients.service("ecs")` or `await clients.ecs()` '
    "(or pass one in as an argument from such a line), and build plan steps as "
    '`Call("ecs", "create_service", {...})`'
)


# --- the scan --------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Operation:
    service: str
    """Our short service name: "ecs", "elbv2", "application-autoscaling", ..."""
    name: str
    """botocore's snake_case operation name: "create_service"."""


@dataclass(frozen=True, order=True)
class Site:
    file: str
    line: int
    tagged: bool
    """Whether the call may pass tags (decides the tag-on-create grants); True when unknown."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Scan:
    operations: dict[Operation, list[Site]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, operation: Operation, site: Site) -> None:
        self.operations.setdefault(operation, []).append(site)


class _Unresolved(Exception):
    """A value the scan cannot follow statically; the message says why."""


@dataclass
class _Module:
    name: str
    relative: str
    tree: ast.Module
    parents: dict[ast.AST, ast.AST]
    calls: list[ast.Call]
    import_nodes: list[ast.Import | ast.ImportFrom]
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """alias → (module, attribute), or (module, None) when the alias is the module itself."""


@cache
def _parsed(path: Path, stamp: tuple[int, int], relative: str) -> _Module:
    """One module, parsed and indexed in a single walk; cached while the file is unchanged."""
    tree = ast.parse(path.read_text(), filename=relative)
    parents: dict[ast.AST, ast.AST] = {}
    calls: list[ast.Call] = []
    import_nodes: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            calls.append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            import_nodes.append(node)
        for child in ast.iter_child_nodes(node):
            parents[child] = node
            stack.append(child)
    calls.sort(key=lambda call: (call.lineno, call.col_offset))
    parts = list(Path(relative).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return _Module(".".join(parts), relative, tree, parents, calls, import_nodes)


_Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


@dataclass
class _ScopeIndex:
    bindings: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    definitions: dict[str, ast.AST] = field(default_factory=dict)

    def add(self, name: str, binding: tuple[str, Any]) -> None:
        self.bindings.setdefault(name, []).append(binding)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _Program:
    """The parsed package, with just enough name resolution to follow strings and clients."""

    def __init__(self, root: Path, package: str, excluded: Sequence[str]) -> None:
        self._package = package
        self.modules: dict[str, _Module] = {}
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if any(relative == prefix or relative.startswith(prefix + "/") for prefix in excluded):
                continue
            stat = path.stat()
            parsed = _parsed(path, (stat.st_mtime_ns, stat.st_size), relative)
            # A fresh record per scan: imports depend on which other modules this scan sees.
            module = _Module(
                parsed.name, relative, parsed.tree, parsed.parents, parsed.calls, parsed.import_nodes
            )
            self.modules[module.name] = module
        for module in self.modules.values():
            module.imports = self._imports(module)
        self._call_sites: dict[int, list[tuple[_Module, ast.Call, bool]]] | None = None
        self._active: set[tuple[int, str]] = set()
        self._indexes: dict[int, _ScopeIndex] = {}

    def _imports(self, module: _Module) -> dict[str, tuple[str, str | None]]:
        imports: dict[str, tuple[str, str | None]] = {}
        for node in module.import_nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imports[alias.asname] = (alias.name, None)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = module.name.split(".")
                    if not module.relative.endswith("__init__.py"):
                        package = package[:-1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join([*package, base] if base else package)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    target = (submodule, None) if submodule in self.modules else (base, alias.name)
                    imports[alias.asname or alias.name] = target
        return imports

    # --- scopes and bindings ------------------------------------------------------------------

    def _module_containing(self, node: ast.AST, fallback: _Module) -> _Module:
        """The module a node belongs to (a binding's value may live in another module)."""
        for module in (fallback, *self.modules.values()):
            if node in module.parents:
                return module
        return fallback

    def _enclosing(self, module: _Module, node: ast.AST, kinds: tuple[type, ...]) -> ast.AST | None:
        current = module.parents.get(node)
        while current is not None and not isinstance(current, kinds):
            current = module.parents.get(current)
        return current

    def _scopes(self, module: _Module, node: ast.AST) -> Iterator[ast.AST]:
        """Enclosing comprehensions and functions, innermost first (class bodies do not enclose)."""
        current = module.parents.get(node)
        while current is not None:
            if isinstance(current, (*_COMPREHENSIONS, *_FUNCTIONS, ast.Lambda)):
                yield current
            current = module.parents.get(current)

    def _index(self, scope: ast.AST) -> _ScopeIndex:
        """The names one scope binds, and the functions and classes it defines; built once."""
        index = self._indexes.get(id(scope))
        if index is not None:
            return index
        index = _ScopeIndex()
        if isinstance(scope, (*_FUNCTIONS, ast.Lambda)):
            arguments = scope.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None]
            for arg in every:
                index.add(arg.arg, ("param", (scope, arg.arg)))
        for node in _walk_scope(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        index.add(target.id, ("value", node.value))
                    else:
                        for name in _bound_names(target):
                            index.add(
                                name, ("unknown", f"`{name}` is unpacked from `{ast.unparse(node.value)}`")
                            )
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)):
                if isinstance(node.target, ast.Name) and node.value is not None:
                    index.add(node.target.id, ("value", node.value))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                for name in _bound_names(node.target):
                    index.add(name, ("loop", (node.target, node.iter, name)))
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                for name in _bound_names(node.optional_vars):
                    index.add(name, ("unknown", f"`{name}` comes from a with statement"))
            elif isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
                index.definitions[node.name] = node
        self._indexes[id(scope)] = index
        return index

    def _bindings(self, module: _Module, name: str, at: ast.AST) -> list[tuple[str, Any]]:
        """What `name` can be at `at`: ("value", expr), ("param", (function, name)), ("loop", ...)."""
        for scope in self._scopes(module, at):
            if isinstance(scope, _COMPREHENSIONS):
                found: list[tuple[str, Any]] = [
                    ("loop", (generator.target, generator.iter, name))
                    for generator in scope.generators
                    if name in _bound_names(generator.target)
                ]
            else:
                found = self._index(scope).bindings.get(name, [])
            if found:
                return found
        return self._module_bindings(module, name)

    def _module_bindings(self, module: _Module, name: str) -> list[tuple[str, Any]]:
        found = [
            binding for binding in self._index(module.tree).bindings.get(name, []) if binding[0] == "value"
        ]
        if found:
            return found
        imported = module.imports.get(name)
        if imported is not None and imported[1] is not None and imported[0] in self.modules:
            return self._module_bindings(self.modules[imported[0]], imported[1])
        return []

    def _attribute_bindings(self, module: _Module, attribute: ast.Attribute) -> list[tuple[str, Any]]:
        """`self.x`: every `self.x = ...` in the methods of the enclosing class."""
        owner = self._enclosing(module, attribute, (ast.ClassDef,))
        if not isinstance(owner, ast.ClassDef):
            return []
        found: list[tuple[str, Any]] = []
        for method in owner.body:
            if not isinstance(method, _FUNCTIONS):
                continue
            for node in _walk_scope(method):
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                if not isinstance(node, (ast.Assign, ast.AnnAssign)) or getattr(node, "value", None) is None:
                    continue
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                        and target.attr == attribute.attr
                    ):
                        found.append(("value", node.value))
        return found

    # --- functions and their call sites -------------------------------------------------------

    def _definition(self, module: _Module, name: str, at: ast.AST) -> ast.AST | None:
        """The function or class `name` refers to at `at`: nested, module-level or imported."""
        for scope in self._scopes(module, at):
            if isinstance(scope, _FUNCTIONS) and name in self._index(scope).definitions:
                return self._index(scope).definitions[name]
        if name in self._index(module.tree).definitions:
            return self._index(module.tree).definitions[name]
        imported = module.imports.get(name)
        if imported is not None and imported[1] is not None and imported[0] in self.modules:
            target = self.modules[imported[0]]
            return self._index(target.tree).definitions.get(imported[1])
        return None

    def _callee(self, module: _Module, call: ast.Call) -> tuple[ast.AST | None, bool]:
        """The function a call reaches, if it can be told statically, and whether it is bound
        (a method called on `self`, or a class's `__init__` called through the class)."""
        function = call.func
        target: ast.AST | None = None
        bound = False
        if isinstance(function, ast.Name):
            target = self._definition(module, function.id, call)
        elif isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
            base = function.value.id
            if base in ("self", "cls"):
                owner = self._enclosing(module, call, (ast.ClassDef,))
                if isinstance(owner, ast.ClassDef):
                    target = self._index(owner).definitions.get(function.attr)
                    bound = True
            else:
                imported = module.imports.get(base)
                if imported is not None and imported[1] is None and imported[0] in self.modules:
                    target = self._index(self.modules[imported[0]].tree).definitions.get(function.attr)
        if isinstance(target, ast.ClassDef):
            target, bound = self._index(target).definitions.get("__init__"), True
        return (target, bound) if isinstance(target, _FUNCTIONS) else (None, False)

    def call_sites(self, function: ast.AST) -> list[tuple[_Module, ast.Call, bool]]:
        if self._call_sites is None:
            self._call_sites = {}
            for module in self.modules.values():
                for node in module.calls:
                    callee, bound = self._callee(module, node)
                    if callee is not None:
                        self._call_sites.setdefault(id(callee), []).append((module, node, bound))
        return self._call_sites.get(id(function), [])

    def _argument(self, function: _Scope, name: str, call: ast.Call, bound: bool) -> ast.expr | None:
        """The expression a call passes for parameter `name`; None when it leaves the default."""
        for keyword in call.keywords:
            if keyword.arg == name:
                return keyword.value
        arguments = function.args
        positional = [arg.arg for arg in [*arguments.posonlyargs, *arguments.args]]
        if name in positional:
            index = positional.index(name) - (1 if bound else 0)
            before = call.args[: index + 1]
            if any(isinstance(arg, ast.Starred) for arg in before):
                raise _Unresolved(f"`{ast.unparse(call)}` passes `{name}` through *args")
            if 0 <= index < len(call.args):
                return call.args[index]
        if any(keyword.arg is None for keyword in call.keywords):
            raise _Unresolved(f"`{ast.unparse(call)}` may pass `{name}` through **kwargs")
        return None

    def _default(self, function: _Scope, name: str) -> ast.expr | None:
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults = dict(
            zip(
                [arg.arg for arg in positional[len(positional) - len(arguments.defaults) :]],
                arguments.defaults,
                strict=True,
            )
        )
        for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
            if default is not None:
                defaults[arg.arg] = default
        return defaults.get(name)

    def _parameter_values(self, module: _Module, function: _Scope, name: str, evaluate: Any) -> set[str]:
        label = getattr(function, "name", "<lambda>")
        sites = self.call_sites(function)
        if not sites:
            raise _Unresolved(
                f"`{name}` is a parameter of {label}(), which nothing in {self._package}/ calls directly"
            )
        values: set[str] = set()
        for caller, call, bound in sites:
            argument = self._argument(function, name, call, bound)
            if argument is None:
                default = self._default(function, name)
                if default is None:
                    raise _Unresolved(f"{caller.relative}:{call.lineno} calls {label}() without `{name}`")
                values |= evaluate(module, default)
            else:
                values |= evaluate(caller, argument)
        return values

    # --- evaluation ---------------------------------------------------------------------------

    def _guard(self, node: ast.AST, what: str) -> tuple[int, str]:
        key = (id(node), what)
        if key in self._active:
            raise _Unresolved(f"`{ast.unparse(node)}` depends on itself")
        self._active.add(key)
        return key

    def strings(self, module: _Module, expr: ast.AST) -> set[str]:
        """Every string `expr` can be; raises _Unresolved when that cannot be told statically."""
        key = self._guard(expr, "strings")
        try:
            return self._strings(module, expr)
        finally:
            self._active.discard(key)

    def _strings(self, module: _Module, expr: ast.AST) -> set[str]:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return self.strings(module, expr.body) | self.strings(module, expr.orelse)
        if isinstance(expr, ast.JoinedStr):
            parts: list[set[str]] = []
            for value in expr.values:
                if isinstance(value, ast.FormattedValue):
                    if value.format_spec is not None or value.conversion != -1:
                        raise _Unresolved(f"`{ast.unparse(expr)}` formats its value")
                    parts.append(self.strings(module, value.value))
                else:
                    parts.append(self.strings(module, value))
            return {"".join(combination) for combination in itertools.product(*parts)}
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            imported = module.imports.get(expr.value.id)
            if imported is not None and imported[1] is None and imported[0] in self.modules:
                target = self.modules[imported[0]]
                bindings = self._module_bindings(target, expr.attr)
                if bindings:
                    return self._from_bindings(target, expr.attr, bindings, self.strings)
        if isinstance(expr, ast.Name):
            bindings = self._bindings(module, expr.id, expr)
            if bindings:
                return self._from_bindings(module, expr.id, bindings, self.strings)
            raise _Unresolved(f"`{expr.id}` is not bound to anything the scan can see")
        if _is_self_attribute(expr):
            assert isinstance(expr, ast.Attribute)
            bindings = self._attribute_bindings(module, expr)
            if bindings:
                return self._from_bindings(module, ast.unparse(expr), bindings, self.strings)
        raise _Unresolved(f"`{ast.unparse(expr)}` is not a string the scan can follow")

    def services(self, module: _Module, expr: ast.AST) -> set[str]:
        """The service(s) of the client `expr` evaluates to."""
        key = self._guard(expr, "services")
        try:
            return self._services(module, expr)
        finally:
            self._active.discard(key)

    def _services(self, module: _Module, expr: ast.AST) -> set[str]:
        if isinstance(expr, ast.Await):
            return self.services(module, expr.value)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            method = expr.func.attr
            if method in CLIENT_FACTORIES and expr.args and not isinstance(expr.args[0], ast.Starred):
                return self.strings(module, expr.args[0])
            if method in CLIENT_ACCESSORS and not expr.args and not expr.keywords:
                return {CLIENT_ACCESSORS[method]}
        if isinstance(expr, ast.Name):
            bindings = self._bindings(module, expr.id, expr)
            if bindings:
                return self._from_bindings(module, expr.id, bindings, self.services)
            raise _Unresolved(f"`{expr.id}` is not bound to anything the scan can see")
        if _is_self_attribute(expr):
            assert isinstance(expr, ast.Attribute)
            bindings = self._attribute_bindings(module, expr)
            if bindings:
                return self._from_bindings(module, ast.unparse(expr), bindings, self.services)
        raise _Unresolved(f"`{ast.unparse(expr)}` is not a client the scan can follow")

    def _from_bindings(
        self, module: _Module, name: str, bindings: list[tuple[str, Any]], evaluate: Any
    ) -> set[str]:
        values: set[str] = set()
        for kind, payload in bindings:
            if kind == "value":
                values |= evaluate(self._module_containing(payload, module), payload)
            elif kind == "param":
                function, parameter = payload
                values |= self._parameter_values(module, function, parameter, evaluate)
            elif kind == "loop":
                target, iterable, wanted = payload
                for element in self._loop_elements(module, target, iterable, wanted):
                    values |= evaluate(self._module_containing(element, module), element)
            else:
                raise _Unresolved(payload)
        return values

    def _loop_elements(self, module: _Module, target: ast.AST, iterable: ast.AST, name: str) -> list[ast.AST]:
        """The expressions a loop variable takes when the loop runs over a literal sequence."""
        sequence = self._literal_sequence(module, iterable)
        if sequence is None:
            raise _Unresolved(f"`{name}` loops over `{ast.unparse(iterable)}`, not a literal sequence")
        if isinstance(target, ast.Name):
            return list(sequence)
        if isinstance(target, (ast.Tuple, ast.List)):
            position = next(
                (i for i, item in enumerate(target.elts) if isinstance(item, ast.Name) and item.id == name),
                None,
            )
            elements: list[ast.AST] = []
            for item in sequence:
                if (
                    position is None
                    or not isinstance(item, (ast.Tuple, ast.List))
                    or len(item.elts) != len(target.elts)
                ):
                    raise _Unresolved(f"`{name}` is unpacked from `{ast.unparse(iterable)}`")
                elements.append(item.elts[position])
            return elements
        raise _Unresolved(f"`{name}` is bound by `{ast.unparse(target)}`")

    def _literal_sequence(self, module: _Module, expr: ast.AST) -> list[ast.expr] | None:
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return list(expr.elts)
        if isinstance(expr, ast.Name):
            bindings = self._module_bindings(module, expr.id)
            if len(bindings) == 1 and bindings[0][0] == "value":
                value = bindings[0][1]
                return self._literal_sequence(self._module_containing(value, module), value)
        return None

    def may_pass_tags(self, module: _Module, expr: ast.AST | None, depth: int = 0) -> bool:
        """Whether a request's parameters may include tags; True whenever that is not certain."""
        if expr is None:
            return False
        if depth > 8:
            return True
        if isinstance(expr, ast.Dict):
            for key, value in zip(expr.keys, expr.values, strict=True):
                if key is None:
                    if self.may_pass_tags(module, value, depth + 1):
                        return True
                elif not isinstance(key, ast.Constant) or key.value in TAG_PARAMETERS:
                    return True
            return False
        if isinstance(expr, ast.Name):
            bindings = self._bindings(module, expr.id, expr)
            if not bindings or any(kind != "value" for kind, _ in bindings):
                return True
            return any(
                self.may_pass_tags(self._module_containing(value, module), value, depth + 1)
                for _, value in bindings
            )
        return True

    # --- the two shapes -----------------------------------------------------------------------

    def scan(self) -> Scan:
        result = Scan()
        for module in self.modules.values():
            for node in module.calls:
                try:
                    if _is_plan_step(node):
                        self._plan_step(module, node, result)
                    elif (
                        isinstance(node.func, ast.Attribute)
                        and node.func.attr in CLIENT_METHODS
                        and node.args
                    ):
                        self._direct_call(module, node, result)
                except _Unresolved as error:
                    result.problems.append(
                        f"{module.relative}:{node.lineno}: cannot tell which AWS call "
                        f"`{_short(node)}` makes: {error}. To fix it, {HOW_TO_WRITE}."
                    )
        for sites in result.operations.values():
            sites.sort()
        return result

    def _plan_step(self, module: _Module, node: ast.Call, result: Scan) -> None:
        service_expr = _argument_of(node, 0, "service")
        operation_expr = _argument_of(node, 1, "operation")
        if service_expr is None or operation_expr is None:
            raise _Unresolved("it does not pass both service and operation")
        tagged = self.may_pass_tags(module, _argument_of(node, 2, "params"))
        site = Site(module.relative, node.lineno, tagged)
        for service in sorted(self.strings(module, service_expr)):
            for operation in self._operations(module, service, operation_expr):
                result.add(Operation(service, operation), site)

    def _direct_call(self, module: _Module, node: ast.Call, result: Scan) -> None:
        assert isinstance(node.func, ast.Attribute)
        first = node.args[0]
        receiver = node.func.value
        if isinstance(first, ast.Starred):
            raise _Unresolved("the operation is passed through *args")
        if _is_dispatch(receiver, first):
            return
        tagged = any(keyword.arg is None or keyword.arg in TAG_PARAMETERS for keyword in node.keywords)
        site = Site(module.relative, node.lineno, tagged)
        try:
            services = self.services(module, receiver)
        except _Unresolved as error:
            services = self._only_service_with(module, first, error)
        for service in sorted(services):
            for operation in self._operations(module, service, first):
                result.add(Operation(service, operation), site)

    def _only_service_with(self, module: _Module, operation: ast.AST, error: _Unresolved) -> set[str]:
        """The client's service when its operation names exist in exactly one of our services
        (`get_item`: dynamodb); otherwise the scan cannot tell, and says so."""
        names = self.strings(module, operation)
        owners = {service for service in SERVICES if names <= operation_names(service)}
        if len(owners) != 1:
            candidates = ", ".join(sorted(owners)) or "none of our services"
            raise _Unresolved(f"{error}, and {', '.join(sorted(names))} could be {candidates}") from error
        return owners

    def _operations(self, module: _Module, service: str, expr: ast.AST) -> list[str]:
        if service not in SERVICES:
            raise _Unresolved(f"{service!r} is not one of the services {', '.join(sorted(SERVICES))}")
        known = operation_names(service)
        try:
            names = self.strings(module, expr)
        except _Unresolved:
            if not isinstance(expr, ast.JoinedStr):
                raise
            pattern = "".join(
                ".+" if isinstance(value, ast.FormattedValue) else re.escape(str(getattr(value, "value", "")))
                for value in expr.values
            )
            names = {name for name in known if re.fullmatch(pattern, name)}
            if not 1 <= len(names) <= PATTERN_LIMIT:
                raise _Unresolved(
                    f"`{ast.unparse(expr)}` matches {len(names)} {service} operations"
                    f" (at most {PATTERN_LIMIT} are accepted from a pattern)"
                ) from None
        unknown = sorted(name for name in names if name not in known)
        if unknown:
            raise _Unresolved(f"{service} has no operation {', '.join(unknown)}")
        return sorted(names)


def _walk_scope(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of one scope: nested functions, lambdas, classes and comprehensions excluded."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*_FUNCTIONS, ast.Lambda, ast.ClassDef, *_COMPREHENSIONS)):
            stack.extend(ast.iter_child_nodes(node))


def _bound_names(target: ast.AST) -> set[str]:
    """Names an assignment or loop target binds (not the `self` of `self.x = ...`)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return {name for item in target.elts for name in _bound_names(item)}
    return set()


def _is_self_attribute(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self"


def _argument_of(call: ast.Call, index: int, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return call.args[index] if index < len(call.args) else None


def _is_plan_step(node: ast.Call) -> bool:
    function = node.func
    return (isinstance(function, ast.Name) and function.id == "Call") or (
        isinstance(function, ast.Attribute) and function.attr == "Call"
    )


def _is_dispatch(receiver: ast.AST, operation: ast.AST) -> bool:
    """`<clients>.service(step.service).call(step.operation, ...)`: the executor running a plan `Call`."""
    return (
        isinstance(operation, ast.Attribute)
        and operation.attr == "operation"
        and isinstance(receiver, ast.Call)
        and isinstance(receiver.func, ast.Attribute)
        and receiver.func.attr == "service"
        and len(receiver.args) == 1
        and isinstance(receiver.args[0], ast.Attribute)
        and receiver.args[0].attr == "service"
        and ast.dump(receiver.args[0].value) == ast.dump(operation.value)
    )


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 90 else text[:87] + "..."


def scan(root: Path = ROOT, package: str = PACKAGE, excluded: Sequence[str] = EXCLUDED) -> Scan:
    """Every AWS operation the package's code can call, with where; problems for what is unclear."""
    return _Program(root, package, excluded).scan()


# --- operations to IAM actions ---------------------------------------------------------------------


@cache
def _service_operations(service: str) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(SERVICES[service][0])
    return {botocore.xform_name(name): name for name in model.operation_names}


def operation_names(service: str) -> set[str]:
    """botocore's snake_case operation names of one of our services."""
    return set(_service_operations(service))


def iam_action(operation: Operation) -> str:
    """`Operation("elbv2", "describe_tags")` → `"elasticloadbalancing:DescribeTags"`."""
    return f"{SERVICES[operation.service][1]}:{_service_operations(operation.service)[operation.name]}"


def required_actions(result: Scan) -> dict[str, list[Site]]:
    """IAM action → the sites that call it."""
    actions: dict[str, list[Site]] = {}
    for operation, sites in sorted(result.operations.items()):
        actions.setdefault(iam_action(operation), []).extend(sites)
    return actions
