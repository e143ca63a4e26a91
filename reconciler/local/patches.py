"""Patches that make moto 5.2.5 answer like AWS where the engine relies on it.

Applied once per process by ``LocalAWS.start`` (:func:`apply` is idempotent). Each patch replaces or wraps
one handler of moto's response classes (the layer that has both the request's parameters and the
backend) and says in its docstring which AWS behaviour it restores and what moto does instead; each is
pinned by a test in ``tests/local/test_*_patches.py`` that fails on raw moto. moto's backends are process
global, so these patches are too: they also apply to moto used in-process (``mock_aws``) in the same
process, where rollouts complete instantly (see ``rollouts.current``).

Everything here runs with the backend lock held (the server serialises requests), so read-compare-write
sequences need no further locking.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import importlib
import inspect
import ipaddress
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, Final

from reconciler.local import rollouts

Handler = Callable[[Any], Any]

_APPLY_LOCK: Final = threading.Lock()
_applied = False


def apply() -> None:
    """Install every patch, once per process."""
    global _applied
    with _APPLY_LOCK:
        if _applied:
            return
        _patch_ecs()
        _patch_ec2()
        _patch_elbv2()
        _patch_application_autoscaling()
        _patch_logs()
        _patch_tagging()
        _applied = True


def _replace(cls: type, name: str, make: Callable[[Handler], Handler]) -> None:
    """Set ``cls.name`` to ``make(original)``; moto dispatches by looking plain functions up on the class."""
    original: Handler = getattr(cls, name, None) or _not_implemented(name)
    replacement = make(original)
    replacement.__name__ = name
    replacement.__qualname__ = f"{cls.__name__}.{name}"
    setattr(cls, name, replacement)


def _not_implemented(name: str) -> Handler:
    def handler(self: Any) -> Any:
        raise NotImplementedError(f"The {name} action has not been implemented")

    return handler


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# =====================================================================================================
# ECS
# =====================================================================================================

_SERVICE_DEPLOYMENT_FIELDS: Final = {
    # UpdateService parameters whose change makes ECS start a new deployment (a new task set).
    "networkConfiguration": "network_configuration",
    "loadBalancers": "load_balancers",
    "serviceRegistries": "service_registries",
    "platformVersion": "platform_version",
    "capacityProviderStrategy": "capacity_provider_strategy",
}
_SERVICE_PLAIN_FIELDS: Final = {
    # UpdateService parameters ECS stores without a new deployment (tasks pick them up on the next one).
    "enableExecuteCommand": "enable_execute_command",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "propagateTags": "propagate_tags",
    "placementConstraints": "placement_constraints",
    "placementStrategy": "placement_strategy",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
}
_CREATE_REQUEST_ATTRIBUTE: Final = "_reconciler_local_create_request"


def _ecs_error(code: str, message: str) -> Exception:
    from moto.ecs.exceptions import ECSException

    error: Exception = ECSException(code, message)
    return error


def _patch_ecs() -> None:
    from moto.core.responses import ActionResult
    from moto.ecs.responses import EC2ContainerServiceResponse as Response

    def create_service(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            backend = self.ecs_backend
            model = rollouts.current()
            model.advance(backend)
            params = copy.deepcopy(self._get_params())
            cluster = backend._get_cluster(params.get("cluster") or "default")
            existing = backend.services.get(f"{cluster.name}:{params.get('serviceName')}")
            if existing is not None and existing.status == "ACTIVE":
                same = ecs_create_service_is_idempotent_only_on_retry(existing, params)
                return ActionResult({"service": same})
            strategy = ecs_create_service_resolves_capacity_provider_strategy(cluster, params)
            ecs_network_configuration_defaults_to_the_vpc_security_group(
                self.current_account, self.region, self._get_params().get("networkConfiguration")
            )
            original(self)
            service = backend.services[f"{cluster.name}:{params.get('serviceName')}"]
            ecs_create_service_keeps_fields_and_fills_defaults(service, params, strategy)
            setattr(service, _CREATE_REQUEST_ATTRIBUTE, params)
            model.first_deployment(backend, service)
            _count_active_services(backend, cluster)
            return ActionResult({"service": service})

        return handler

    def create_cluster(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            existing = ecs_create_cluster_returns_existing(self.ecs_backend, self._get_param("clusterName"))
            if existing is not None:
                return ActionResult({"cluster": existing})
            return original(self)

        return handler

    def update_service(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            backend = self.ecs_backend
            model = rollouts.current()
            model.advance(backend)
            service = ecs_update_service_like_aws(backend, model, self._get_params())
            return ActionResult({"service": service})

        return handler

    def update_cluster_settings(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            cluster = ecs_update_cluster_settings(
                self.ecs_backend, self._get_param("cluster"), self._get_param("settings")
            )
            return ActionResult({"cluster": cluster})

        return handler

    def list_services(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            backend = self.ecs_backend
            rollouts.current().advance(backend)
            arns, next_token = ecs_list_services_active_and_paged(
                backend,
                cluster=self._get_param("cluster", "default"),
                launch_type=self._get_param("launchType"),
                scheduling_strategy=self._get_param("schedulingStrategy"),
                max_results=self._get_param("maxResults"),
                next_token=self._get_param("nextToken"),
            )
            return ActionResult({"serviceArns": arns, "nextToken": next_token})

        return handler

    def advancing(original: Handler) -> Handler:
        """Reads of services and clusters first bring the rollouts of this account and region up to now."""

        def handler(self: Any) -> Any:
            rollouts.current().advance(self.ecs_backend)
            return original(self)

        return handler

    def delete_service(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            backend = self.ecs_backend
            model = rollouts.current()
            model.advance(backend)
            service = backend._get_service(
                self._get_param("cluster", "default"), self._get_param("service").split("/")[-1]
            )
            ecs_delete_service_only_when_active(service)
            result = original(self)
            model.forget(backend, service)
            # The desired count goes to 0 at once; moto already took the counts off the cluster.
            service.desired_count = service.running_count = service.pending_count = 0
            _count_active_services(backend, backend._get_cluster(service.cluster_name))
            return result

        return handler

    def delete_cluster(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            ecs_delete_cluster_refuses_active_services(self.ecs_backend, self._get_param("cluster"))
            return original(self)

        return handler

    _replace(Response, "create_service", create_service)
    _replace(Response, "create_cluster", create_cluster)
    _wrap_backend(
        "moto.ecs.models.EC2ContainerServiceBackend",
        "register_task_definition",
        ecs_register_task_definition_drops_empty_environment_values,
    )
    _replace(Response, "update_service", update_service)
    _replace(Response, "update_cluster_settings", update_cluster_settings)
    _replace(Response, "list_services", list_services)
    _replace(Response, "describe_services", advancing)
    _replace(Response, "describe_clusters", advancing)
    _replace(Response, "delete_service", delete_service)
    _replace(Response, "delete_cluster", delete_cluster)


def _wrap_backend(path: str, name: str, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Rewrite the keyword arguments of one backend method before moto sees them."""
    module_name, _, class_name = path.rpartition(".")
    backend = getattr(importlib.import_module(module_name), class_name)
    original = getattr(backend, name)
    signature = inspect.signature(original)

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        arguments = rewrite({key: value for key, value in bound.arguments.items() if key != "self"})
        return original(self, **arguments)

    setattr(backend, name, wrapped)


def ecs_register_task_definition_drops_empty_environment_values(kwargs: dict[str, Any]) -> dict[str, Any]:
    """AWS: an environment variable with an empty value is not part of the registered revision
    (DescribeTaskDefinition answers without it); moto 5.2.5 stores it as sent."""
    containers = [
        {
            **container,
            **(
                {"environment": [pair for pair in container["environment"] if pair.get("value")]}
                if container.get("environment")
                else {}
            ),
        }
        for container in kwargs.get("container_definitions") or []
    ]
    return {**kwargs, "container_definitions": containers}


def ecs_create_service_is_idempotent_only_on_retry(existing: Any, params: dict[str, Any]) -> Any:
    """AWS: CreateService on the name of an ACTIVE service fails with InvalidParameterException "Creation
    of service was not idempotent.", unless it repeats the same clientToken with identical parameters,
    when it returns the existing service; moto 5.2.5: silently replaces the service (tags and load
    balancers lost) and ignores clientToken.
    """
    previous = getattr(existing, _CREATE_REQUEST_ATTRIBUTE, None)
    if params.get("clientToken") and previous is not None and _canonical(previous) == _canonical(params):
        return existing
    raise _ecs_error("InvalidParameterException", "Creation of service was not idempotent.")


def ecs_create_service_resolves_capacity_provider_strategy(
    cluster: Any, params: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """AWS: a service without launchType or capacityProviderStrategy uses the cluster's default capacity
    provider strategy (or launch type EC2 when it has none), and launchType together with a strategy is
    an InvalidParameterException; moto 5.2.5: always EC2, and accepts both together.
    """
    strategy = params.get("capacityProviderStrategy")
    if params.get("launchType") and strategy:
        raise _ecs_error(
            "InvalidParameterException",
            "Specifying both a launch type and capacity provider strategy is not supported. "
            "Remove one and try again.",
        )
    if not strategy and not params.get("launchType"):
        strategy = cluster.default_capacity_provider_strategy or None
    if not strategy:
        return None
    return [{"base": 0, **item} for item in strategy]


def ecs_network_configuration_defaults_to_the_vpc_security_group(
    account: str, region: str, configuration: dict[str, Any] | None
) -> None:
    """AWS: an awsvpc network configuration without securityGroups gets the default security group of
    the subnets' VPC; moto 5.2.5: fails with KeyError (HTTP 500). Fills the request in place.
    """
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends

    vpc = (configuration or {}).get("awsvpcConfiguration")
    if not vpc or vpc.get("securityGroups") or not vpc.get("subnets"):
        return
    ec2 = ec2_backends[account][region]
    try:
        subnet = ec2.get_subnet(vpc["subnets"][0])
    except InvalidSubnetIdError:
        return  # moto's own validation reports the missing subnet as AWS does
    group = ec2.get_default_security_group(subnet.vpc_id)
    vpc["securityGroups"] = [group.id] if group is not None else []


def ecs_create_service_keeps_fields_and_fills_defaults(
    service: Any, params: dict[str, Any], strategy: list[dict[str, Any]] | None
) -> None:
    """AWS: CreateService stores deploymentConfiguration, enableExecuteCommand, healthCheckGracePeriodSeconds,
    capacityProviderStrategy (and then reports no launchType) and fills its defaults: deploymentConfiguration
    200/100 with the circuit breaker off, propagateTags NONE, enableECSManagedTags false, platformVersion
    LATEST and platformFamily Linux on Fargate, schedulingStrategy REPLICA, empty placement lists,
    assignPublicIp DISABLED, createdAt; moto 5.2.5: drops those fields, reports launchType EC2 for a
    strategy, and fills none of the defaults but propagateTags and schedulingStrategy.
    """
    from moto.core.utils import utcnow

    daemon = params.get("schedulingStrategy") == "DAEMON"
    service.deployment_configuration = _deployment_configuration(
        params.get("deploymentConfiguration"), {}, daemon=daemon
    )
    service.enable_execute_command = bool(params.get("enableExecuteCommand", False))
    service.enable_ecs_managed_tags = bool(params.get("enableECSManagedTags", False))
    if params.get("healthCheckGracePeriodSeconds") is not None:
        service.health_check_grace_period_seconds = params["healthCheckGracePeriodSeconds"]
    service.capacity_provider_strategy = strategy
    if strategy:
        service.launch_type = None
    if params.get("propagateTags") is None:
        service.propagate_tags = "NONE"
    service.scheduling_strategy = params.get("schedulingStrategy") or "REPLICA"
    service.placement_constraints = params.get("placementConstraints") or []
    service.placement_strategy = params.get("placementStrategy") or []
    if params.get("availabilityZoneRebalancing"):
        service.availability_zone_rebalancing = params["availabilityZoneRebalancing"]
    _fill_fargate_defaults(service)
    if service.network_configuration:
        service.network_configuration = _network_configuration(service.network_configuration)
    service.created_at = utcnow()


def _deployment_configuration(
    given: dict[str, Any] | None, current: dict[str, Any], *, daemon: bool = False
) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "maximumPercent": 100 if daemon else 200,
        "minimumHealthyPercent": 0 if daemon else 100,
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    }
    merged = {**defaults, **current, **(given or {})}
    merged["deploymentCircuitBreaker"] = {
        **defaults["deploymentCircuitBreaker"],
        **(merged.get("deploymentCircuitBreaker") or {}),
    }
    return merged


def _network_configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    vpc = configuration.get("awsvpcConfiguration")
    if vpc is None:
        return configuration
    filled: dict[str, Any] = {"assignPublicIp": "DISABLED", **vpc}
    return {**configuration, "awsvpcConfiguration": filled}


def _fill_fargate_defaults(service: Any) -> None:
    strategy = getattr(service, "capacity_provider_strategy", None) or []
    fargate = service.launch_type == "FARGATE" or any(
        str(item.get("capacityProvider", "")).startswith("FARGATE") for item in strategy
    )
    if fargate:
        service.platform_version = service.platform_version or "LATEST"
        service.platform_family = "Linux"


def ecs_create_cluster_returns_existing(backend: Any, name: str | None) -> Any:
    """AWS: CreateCluster on the name of an ACTIVE cluster returns that cluster unchanged; moto 5.2.5:
    replaces it with a new object, losing its capacity providers, settings and tags.
    """
    existing = backend.clusters.get(name or "default")
    if existing is not None and existing.status == "ACTIVE":
        return existing
    return None


def ecs_update_service_like_aws(backend: Any, model: rollouts.RolloutModel, params: dict[str, Any]) -> Any:
    """AWS: UpdateService stores the task definition as its full ARN whatever form it was given in, and a
    changed task definition, network configuration, load balancers, service registries, platform version
    or capacity provider strategy, or forceNewDeployment, starts a new PRIMARY deployment (the old one
    becomes ACTIVE); a desiredCount change alone moves runningCount as tasks start or stop; a capacity
    provider strategy replaces the launch type; an INACTIVE service gives ServiceNotActiveException.
    moto 5.2.5: stores ``family:rev`` verbatim, starts no deployment, sets runningCount = desiredCount at
    once, keeps launchType, and updates INACTIVE services.
    """
    cluster = params.get("cluster") or "default"
    service = backend._get_service(cluster, str(params["service"]).split("/")[-1])
    if service.status != "ACTIVE":
        raise _ecs_error("ServiceNotActiveException", "Service was not ACTIVE.")
    new_deployment = bool(params.get("forceNewDeployment"))

    if params.get("taskDefinition"):
        arn = backend.describe_task_definition(params["taskDefinition"]).arn
        new_deployment = new_deployment or arn != service.task_definition
        service.task_definition = arn

    for parameter, attribute in _SERVICE_DEPLOYMENT_FIELDS.items():
        value: Any = params.get(parameter)
        if value is None:
            continue
        if parameter == "networkConfiguration":
            ecs_network_configuration_defaults_to_the_vpc_security_group(
                service._account_id, service.region_name, value
            )
            value = _network_configuration(service._validate_network(value))
        if parameter == "capacityProviderStrategy":
            value = [{"base": 0, **item} for item in value]
        if _canonical(value) != _canonical(getattr(service, attribute, None)):
            new_deployment = True
        setattr(service, attribute, value)
    if params.get("capacityProviderStrategy"):
        service.launch_type = None
        _fill_fargate_defaults(service)

    for parameter, attribute in _SERVICE_PLAIN_FIELDS.items():
        if params.get(parameter) is not None:
            setattr(service, attribute, params[parameter])
    if params.get("deploymentConfiguration") is not None:
        service.deployment_configuration = _deployment_configuration(
            params["deploymentConfiguration"],
            getattr(service, "deployment_configuration", None) or {},
            daemon=service.scheduling_strategy == "DAEMON",
        )

    scaled = params.get("desiredCount") is not None and params["desiredCount"] != service.desired_count
    if params.get("desiredCount") is not None:
        service.desired_count = params["desiredCount"]
    if new_deployment:
        model.start_deployment(backend, service)
    elif scaled:
        model.scale(backend, service)
    return service


def ecs_update_cluster_settings(backend: Any, cluster: str, settings: list[dict[str, str]]) -> Any:
    """AWS: UpdateClusterSettings replaces the settings named in the request (containerInsights) and
    returns the cluster; moto 5.2.5: NotImplementedError, an HTTP 500.
    """
    target = backend._get_cluster(cluster)
    current = {item["name"]: item for item in (target.settings or [])}
    for item in settings or []:
        current[item["name"]] = item
    target.settings = list(current.values())
    return target


def ecs_list_services_active_and_paged(
    backend: Any,
    *,
    cluster: str,
    launch_type: str | None,
    scheduling_strategy: str | None,
    max_results: int | None,
    next_token: str | None,
) -> tuple[list[str], str | None]:
    """AWS: ListServices lists ACTIVE services only, maxResults (default 10, at most 100) at a time with a
    nextToken; moto 5.2.5: also lists deleted (INACTIVE) services, and returns everything in one page.
    """
    arns = set(backend.list_services(cluster, scheduling_strategy, launch_type=launch_type))
    active = sorted(
        service.arn
        for service in backend.services.values()
        if service.arn in arns and service.status == "ACTIVE"
    )
    if max_results is not None and not 1 <= int(max_results) <= 100:
        raise _ecs_error("InvalidParameterException", "maxResults must be between 1 and 100.")
    page = int(max_results or 10)
    start = int(base64.urlsafe_b64decode(next_token).decode()) if next_token else 0
    end = start + page
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(active) else None
    return active[start:end], token


def ecs_delete_service_only_when_active(service: Any) -> None:
    """AWS: DeleteService on a service that is no longer ACTIVE gives ServiceNotActiveException;
    moto 5.2.5: deletes it again.
    """
    if service.status != "ACTIVE":
        raise _ecs_error("ServiceNotActiveException", "Service was not ACTIVE.")


def ecs_delete_cluster_refuses_active_services(backend: Any, cluster: str) -> None:
    """AWS: DeleteCluster with ACTIVE services in it gives ClusterContainsServicesException; moto 5.2.5:
    marks the cluster INACTIVE and leaves the services running in it.
    """
    target = backend._get_cluster(cluster)
    if any(s.cluster_name == target.name and s.status == "ACTIVE" for s in backend.services.values()):
        raise _ecs_error(
            "ClusterContainsServicesException",
            "The Cluster cannot be deleted while Services are active.",
        )


def _count_active_services(backend: Any, cluster: Any) -> None:
    # AWS keeps activeServicesCount; moto leaves it at 0.
    cluster.active_services_count = sum(
        1 for s in backend.services.values() if s.cluster_name == cluster.name and s.status == "ACTIVE"
    )


# =====================================================================================================
# Elastic Load Balancing v2
# =====================================================================================================


def _patch_elbv2() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.elbv2.responses import ELBV2Response as Response

    def create_load_balancer(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            existing = elbv2_create_load_balancer_is_idempotent(self.elbv2_backend, self._get_params())
            if existing is not None:
                return ActionResult({"LoadBalancers": [existing]})
            return original(self)

        return handler

    def create_target_group(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            backend = self.elbv2_backend
            existing = elbv2_create_target_group_is_idempotent(backend, self, original)
            if existing is not None:
                _refresh_load_balancer_arns(backend)
                return ActionResult({"TargetGroups": [existing]})
            return original(self)

        return handler

    def create_listener(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            existing = elbv2_create_listener_refuses_a_used_port(self.elbv2_backend, self._get_params())
            if existing is not None:
                return ActionResult({"Listeners": [existing]})
            return original(self)

        return handler

    def describe_target_groups(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            return ActionResult(
                {
                    "TargetGroups": elbv2_describe_target_groups_by_load_balancer(
                        self.elbv2_backend,
                        load_balancer_arn=self._get_param("LoadBalancerArn"),
                        target_group_arns=self._get_param("TargetGroupArns", []),
                        names=self._get_param("Names", []),
                    )
                }
            )

        return handler

    def modify_listener(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            arn, certificates = self._get_param("ListenerArn"), self._get_param("Certificates", [])
            listener = _listener(self.elbv2_backend, arn) if certificates else None
            certificate_list = list(listener.certificates[1:]) if listener is not None else []
            result = original(self)
            if listener is not None:
                elbv2_modify_listener_keeps_the_certificate_list(listener, certificate_list)
            return result

        return handler

    def add_listener_certificates(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            listener = _listener(self.elbv2_backend, self._get_param("ListenerArn"))
            elbv2_add_listener_certificates_adds_each_once(listener, self._get_param("Certificates", []))
            return ActionResult(
                {"Certificates": [{"CertificateArn": arn} for arn in listener.certificates[1:]]}
            )

        return handler

    def remove_listener_certificates(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            listener = _listener(self.elbv2_backend, self._get_param("ListenerArn"))
            elbv2_remove_listener_certificates_keeps_the_default(
                listener, self._get_param("Certificates", [])
            )
            return EmptyResult()

        return handler

    _replace(Response, "create_load_balancer", create_load_balancer)
    _replace(Response, "create_target_group", create_target_group)
    _replace(Response, "create_listener", create_listener)
    _replace(Response, "describe_target_groups", describe_target_groups)
    _replace(Response, "modify_listener", modify_listener)
    _replace(Response, "add_listener_certificates", add_listener_certificates)
    _replace(Response, "remove_listener_certificates", remove_listener_certificates)
    # AWS: a listener's `Certificates` in CreateListener, DescribeListeners and ModifyListener answers is
    # its default certificate alone ("[HTTPS or TLS listener] The default certificate for the listener",
    # botocore's Listener shape); moto 5.2.5 answers the default and the whole certificate list.
    for operation in ("CreateListener", "DescribeListeners", "ModifyListener"):
        path = f"{operation}Output.Listeners.Listener.Certificates"
        Response.RESPONSE_KEY_PATH_TO_TRANSFORMER[path] = elbv2_default_certificate_only
    # moto's own transformer drops an empty LoadBalancerArns from CreateTargetGroup's answer.
    Response.RESPONSE_KEY_PATH_TO_TRANSFORMER.pop(
        "CreateTargetGroupOutput.TargetGroups.TargetGroup.LoadBalancerArns", None
    )


def _listener(backend: Any, arn: str) -> Any:
    return backend.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]


# moto keeps a listener's certificates in one list, `certificates`: the default first, then the
# certificate list (SNI). The patches below keep it that way.


def elbv2_default_certificate_only(certificates: list[str]) -> list[dict[str, str]] | None:
    """A listener's `Certificates` as AWS answers them outside DescribeListenerCertificates."""
    return [{"CertificateArn": certificates[0]}] if certificates else None


def elbv2_modify_listener_keeps_the_certificate_list(listener: Any, certificate_list: list[str]) -> None:
    """AWS: ModifyListener's `Certificates` replaces the default certificate only (exactly one is
    allowed); the certificate list stays; moto 5.2.5: replaces the default and the whole list with
    the request's certificates."""
    listener.certificates = [listener.certificate, *certificate_list]


def elbv2_add_listener_certificates_adds_each_once(listener: Any, certificates: list[dict[str, Any]]) -> None:
    """AWS: "If the certificate in already in the certificate list, the call is successful but the
    certificate is not added again" (AddListenerCertificates); moto 5.2.5: adds it again. The default
    certificate may also be in the list, and is then described twice, as on AWS."""
    for certificate in certificates:
        if certificate["CertificateArn"] not in listener.certificates[1:]:
            listener.certificates.append(certificate["CertificateArn"])


def elbv2_remove_listener_certificates_keeps_the_default(
    listener: Any, certificates: list[dict[str, Any]]
) -> None:
    """AWS: RemoveListenerCertificates removes from the certificate list; the default certificate
    is not in it and stays (ModifyListener replaces it); moto 5.2.5: removes the default too,
    leaving an HTTPS listener whose next certificate silently becomes its default."""
    removed = {certificate["CertificateArn"] for certificate in certificates}
    listener.certificates = [
        *listener.certificates[:1],
        *(arn for arn in listener.certificates[1:] if arn not in removed),
    ]


def elbv2_create_load_balancer_is_idempotent(backend: Any, params: dict[str, Any]) -> Any:
    """AWS: CreateLoadBalancer with the name of an existing load balancer returns it when the settings are
    the same (scheme, type, subnets, security groups, IP address type) and gives DuplicateLoadBalancerName
    otherwise; moto 5.2.5: creates a second load balancer with the same name.
    """
    from moto.elbv2.exceptions import DuplicateLoadBalancerName

    name = params.get("Name")
    existing = next((lb for lb in backend.load_balancers.values() if lb.name == name), None)
    if existing is None:
        return None
    subnets = set(params.get("Subnets") or []) | {m["SubnetId"] for m in params.get("SubnetMappings") or []}
    same = (
        (params.get("Scheme") or "internet-facing") == existing.scheme
        and (params.get("Type") or "application") == existing.type
        and (params.get("IpAddressType") or "ipv4") == existing.ip_address_type
        and subnets == {subnet.id for subnet in existing.subnets}
        and set(params.get("SecurityGroups") or []) == set(existing.security_groups or [])
    )
    if not same:
        raise DuplicateLoadBalancerName()
    return existing


_TARGET_GROUP_SETTINGS: Final = (
    "protocol",
    "protocol_version",
    "port",
    "vpc_id",
    "target_type",
    "ip_address_type",
    "health_check_protocol",
    "health_check_port",
    "health_check_path",
    "health_check_interval_seconds",
    "health_check_timeout_seconds",
    "health_check_enabled",
    "healthy_threshold_count",
    "unhealthy_threshold_count",
    "matcher",
)


def elbv2_create_target_group_is_idempotent(backend: Any, response: Any, original: Handler) -> Any:
    """AWS: CreateTargetGroup with the name of an existing target group returns it when the settings are
    identical and gives DuplicateTargetGroupName otherwise; moto 5.2.5: DuplicateTargetGroupName always.

    "Identical" is judged after defaults, as AWS does: the request is created under a scratch name (so
    moto fills the same defaults), compared setting by setting, and the scratch group removed again.
    """
    from moto.elbv2.exceptions import DuplicateTargetGroupName

    name = response._get_param("Name")
    existing = next((tg for tg in backend.target_groups.values() if tg.name == name), None)
    if existing is None:
        return None
    scratch_name = "reconciler-local-scratch"
    params = response._get_params()
    params["Name"] = scratch_name
    params.pop("Tags", None)
    before = set(backend.target_groups)
    try:
        original(response)
    finally:
        params["Name"] = name
    created = [arn for arn in backend.target_groups if arn not in before]
    candidate = backend.target_groups.pop(created[0])

    def settings(group: Any) -> list[str]:
        return [str(getattr(group, attribute, None)) for attribute in _TARGET_GROUP_SETTINGS]

    if settings(candidate) != settings(existing):
        raise DuplicateTargetGroupName()
    return existing


def elbv2_create_listener_refuses_a_used_port(backend: Any, params: dict[str, Any]) -> Any:
    """AWS: CreateListener on a port the load balancer already listens on returns that listener when the
    settings are identical and gives DuplicateListener otherwise; moto 5.2.5: accepts a second listener on
    the same port (it looks the port up among listener ARNs).
    """
    from moto.elbv2.exceptions import DuplicateListenerError
    from moto.elbv2.models import FakeAction

    balancer = backend.load_balancers.get(params.get("LoadBalancerArn"))
    if balancer is None:
        return None  # moto raises LoadBalancerNotFound, as AWS does
    port = str(params.get("Port"))
    existing = next((item for item in balancer.listeners.values() if str(item.port) == port), None)
    if existing is None:
        return None
    requested = params.get("DefaultActions") or []
    requested_actions = [FakeAction(copy.deepcopy(action)).data for action in requested]
    certificates = [c.get("CertificateArn") for c in params.get("Certificates") or []]
    same = (
        (params.get("Protocol") or "").upper() == existing.protocol
        and _canonical(requested_actions) == _canonical([action.data for action in existing.default_actions])
        and (certificates[:1] or [None])[0] == existing.certificate
        and (params.get("SslPolicy") is None or params.get("SslPolicy") == existing.ssl_policy)
    )
    if not same:
        raise DuplicateListenerError()
    return existing


def elbv2_describe_target_groups_by_load_balancer(
    backend: Any, *, load_balancer_arn: str | None, target_group_arns: list[str], names: list[str]
) -> list[Any]:
    """AWS: DescribeTargetGroups(LoadBalancerArn=...) returns [] for a load balancer whose listeners and
    rules forward to no target group, and every target group's LoadBalancerArns is present ([] when
    unused) and current; moto 5.2.5: raises TargetGroupNotFound for such a load balancer, omits an empty
    LoadBalancerArns, and never removes an ARN when a listener, rule or load balancer goes away.
    """
    from moto.elbv2.exceptions import LoadBalancerNotFoundError

    _refresh_load_balancer_arns(backend)
    if load_balancer_arn and not (target_group_arns or names):
        if load_balancer_arn not in backend.load_balancers:
            raise LoadBalancerNotFoundError()
        groups = [tg for tg in backend.target_groups.values() if load_balancer_arn in tg.load_balancer_arns]
        return sorted(groups, key=lambda tg: tg.name)
    return list(backend.describe_target_groups(load_balancer_arn, target_group_arns, names))


def _refresh_load_balancer_arns(backend: Any) -> None:
    used_by: dict[str, list[str]] = {arn: [] for arn in backend.target_groups}
    for balancer in backend.load_balancers.values():
        for listener in balancer.listeners.values():
            for rule in listener.rules.values():
                for action in rule.actions:
                    for arn in backend._get_target_group_arns_from(action_data=action.data):
                        if arn in used_by and balancer.arn not in used_by[arn]:
                            used_by[arn].append(balancer.arn)
    for arn, group in backend.target_groups.items():
        group.load_balancer_arns = used_by[arn]


# =====================================================================================================
# EC2
# =====================================================================================================


def _patch_ec2() -> None:
    from moto.ec2.responses.security_groups import SecurityGroups as Response

    def process_rules(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            for rule in original(self):
                yield {**rule, "ip_ranges": ec2_canonical_ip_ranges(rule.get("ip_ranges") or [])}

        return handler

    # Every Authorize*/Revoke* handler reads its rules through this one generator.
    _replace(Response, "_process_rules_from_querystring", process_rules)


def ec2_canonical_ip_ranges(ip_ranges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AWS: a security group rule's CIDR block is stored and answered in canonical form (IPv6 in lower
    case with zeros compressed: `2001:DB8:1234::/48` is `2001:db8:1234::/48`), so authorising another
    spelling of a stored block is InvalidPermission.Duplicate; moto 5.2.5: stores the text as sent, so
    every spelling is a rule of its own. A block that does not parse is left for moto to refuse.
    """
    canonical = []
    for ip_range in ip_ranges:
        item = dict(ip_range)
        for key in ("CidrIp", "CidrIpv6"):
            if isinstance(item.get(key), str):
                with contextlib.suppress(ValueError):
                    item[key] = str(ipaddress.ip_network(item[key], strict=True))
        canonical.append(item)
    return canonical


# =====================================================================================================
# Application Auto Scaling
# =====================================================================================================


def _autoscaling_error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error: Exception = JsonRESTError(code, message)
    return error


def _patch_application_autoscaling() -> None:
    from moto.applicationautoscaling import responses as module
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Response

    def describe_scaling_policies(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            autoscaling_dimension_needs_a_resource(self, "ResourceId")
            page = autoscaling_describe_scaling_policies_filters_exactly(self, module._build_policy)
            return json.dumps(page)

        return handler

    def describe_scheduled_actions(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            autoscaling_dimension_needs_a_resource(self, "ResourceId")
            return original(self)

        return handler

    def put_scaling_policy(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            backend = self.applicationautoscaling_backend
            policy = autoscaling_put_scaling_policy_updates_in_place(backend, self, original)
            return json.dumps({"PolicyARN": policy.policy_arn, "Alarms": module._build_alarms(policy)})

        return handler

    def delete_scaling_policy(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            key = _policy_key(
                self._get_param("ServiceNamespace"),
                self._get_param("ResourceId"),
                self._get_param("ScalableDimension"),
                self._get_param("PolicyName"),
            )
            if key not in self.applicationautoscaling_backend.policies:
                raise _autoscaling_error("ObjectNotFoundException", "No scaling policy found for object")
            return original(self)

        return handler

    def deregister_scalable_target(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            autoscaling_deregister_scalable_target_cascades(
                self.applicationautoscaling_backend,
                self._get_param("ServiceNamespace"),
                self._get_param("ResourceId"),
                self._get_param("ScalableDimension"),
            )
            return json.dumps({})

        return handler

    def register_scalable_target(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            body = original(self)
            backend = self.applicationautoscaling_backend
            target = _scalable_target(backend, json.loads(body)["ScalableTargetARN"])
            target.tags.update(self._get_param("Tags") or {})
            autoscaling_register_scalable_target_clamps_the_service(backend, target)
            return body

        return handler

    def describe_scalable_targets(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            autoscaling_dimension_needs_a_resource(self, "ResourceIds")
            return json.dumps(autoscaling_describe_scalable_targets_pages(self, module._build_target))

        return handler

    _replace(Response, "describe_scaling_policies", describe_scaling_policies)
    _replace(Response, "describe_scheduled_actions", describe_scheduled_actions)
    _replace(Response, "put_scaling_policy", put_scaling_policy)
    _replace(Response, "delete_scaling_policy", delete_scaling_policy)
    _replace(Response, "deregister_scalable_target", deregister_scalable_target)
    _replace(Response, "register_scalable_target", register_scalable_target)
    _replace(Response, "describe_scalable_targets", describe_scalable_targets)
    autoscaling_tagging(Response)


def _policy_key(namespace: str, resource_id: str, dimension: str, name: str) -> str:
    from moto.applicationautoscaling.models import FakeApplicationAutoscalingPolicy

    key: str = FakeApplicationAutoscalingPolicy.formulate_key(namespace, resource_id, dimension, name)
    return key


def autoscaling_dimension_needs_a_resource(response: Any, resource_param: str) -> None:
    """AWS (the API reference of DescribeScalingPolicies, DescribeScheduledActions and
    DescribeScalableTargets): "If you specify a scalable dimension, you must also specify a
    resource ID", a ValidationException; moto 5.2.5: filters by the dimension alone."""
    if response._get_param("ScalableDimension") and not response._get_param(resource_param):
        raise _autoscaling_error(
            "ValidationException", "If you specify a scalable dimension, you must also specify a resource ID"
        )


def autoscaling_describe_scaling_policies_filters_exactly(
    response: Any, build_policy: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """AWS: DescribeScalingPolicies matches ResourceId and ScalableDimension exactly and honours
    PolicyNames; moto 5.2.5: substring matches (``service/c/web`` also returns ``service/c/web-1``'s
    policies... and the other way round) and ignores PolicyNames.
    """
    backend = response.applicationautoscaling_backend
    namespace = response._get_param("ServiceNamespace")
    resource_id = response._get_param("ResourceId")
    dimension = response._get_param("ScalableDimension")
    names = response._get_param("PolicyNames")
    policies = [
        policy
        for policy in backend.policies.values()
        if policy.service_namespace == namespace
        and (not resource_id or policy.resource_id == resource_id)
        and (not dimension or policy.scalable_dimension == dimension)
        and (not names or policy.policy_name in names)
    ]
    start = int(response._get_param("NextToken") or 0)
    end = start + int(response._get_param("MaxResults") or 10)
    return {
        "ScalingPolicies": [build_policy(policy) for policy in policies[start:end]],
        "NextToken": str(end) if end < len(policies) else None,
    }


def autoscaling_put_scaling_policy_updates_in_place(backend: Any, response: Any, original: Handler) -> Any:
    """AWS: PutScalingPolicy on an existing policy updates it: same PolicyARN, and its target-tracking
    alarms are replaced; moto 5.2.5: mints a new PolicyARN and leaks the old policy's CloudWatch alarms.
    """
    key = _policy_key(
        response._get_param("ServiceNamespace"),
        response._get_param("ResourceId"),
        response._get_param("ScalableDimension"),
        response._get_param("PolicyName"),
    )
    old = backend.policies.get(key)
    original(response)
    policy = backend.policies[key]
    if old is not None:
        old.delete_alarms(backend.account_id, backend.region_name)
        policy.delete_alarms(backend.account_id, backend.region_name)
        policy._guid = old._guid
        policy.policy_arn = old.policy_arn
        policy.creation_time = old.creation_time
        policy.alarms = []
        policy.create_alarms()
    return policy


def autoscaling_deregister_scalable_target_cascades(
    backend: Any, namespace: str, resource_id: str, dimension: str
) -> None:
    """AWS: DeregisterScalableTarget deletes the target's scaling policies (with their alarms) and scheduled
    actions, and a missing target gives ObjectNotFoundException; moto 5.2.5: keeps the policies and
    scheduled actions, and answers ValidationException.
    """
    if resource_id not in backend.targets.get(dimension, {}):
        raise _autoscaling_error(
            "ObjectNotFoundException",
            f"No scalable target registered for service namespace: {namespace}, resource ID: {resource_id}",
        )
    backend.deregister_scalable_target(namespace, resource_id, dimension)
    for key, policy in list(backend.policies.items()):
        if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
            namespace,
            resource_id,
            dimension,
        ):
            policy.delete_alarms(backend.account_id, backend.region_name)
            del backend.policies[key]
    backend.scheduled_actions = [
        action
        for action in backend.scheduled_actions
        if (action.service_namespace, action.resource_id, action.scalable_dimension)
        != (namespace, resource_id, dimension)
    ]


def autoscaling_register_scalable_target_clamps_the_service(backend: Any, target: Any) -> None:
    """AWS: registering (or updating) an ECS service's scalable target brings the service's desiredCount
    into [MinCapacity, MaxCapacity], as Application Auto Scaling scales it; moto 5.2.5: leaves it outside.
    """
    if target.service_namespace != "ecs" or target.scalable_dimension != "ecs:service:DesiredCount":
        return
    _, cluster, name = target.resource_id.split("/")
    service = backend.ecs_backend.services.get(f"{cluster}:{name}")
    if service is None or service.status != "ACTIVE":
        return
    wanted = service.desired_count
    if target.min_capacity is not None:
        wanted = max(wanted, target.min_capacity)
    if target.max_capacity is not None:
        wanted = min(wanted, target.max_capacity)
    if wanted != service.desired_count:
        model = rollouts.current()
        model.advance(backend.ecs_backend)
        service.desired_count = wanted
        model.scale(backend.ecs_backend, service)


def autoscaling_describe_scalable_targets_pages(
    response: Any, build_target: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """AWS: DescribeScalableTargets pages with a NextToken that moves forward; moto 5.2.5: the token is
    always ``len(page) - 1``, so a paginator over more than two pages fails with "same next token".
    """
    response._validate_params()
    targets = response.applicationautoscaling_backend.describe_scalable_targets(
        response._get_param("ServiceNamespace"),
        response._get_param("ResourceIds"),
        response._get_param("ScalableDimension"),
    )
    start = int(response._get_param("NextToken") or 0)
    end = start + int(response._get_param("MaxResults") or 50)
    return {
        "ScalableTargets": [build_target(target) for target in targets[start:end]],
        "NextToken": str(end) if end < len(targets) else None,
    }


def _scalable_target(backend: Any, arn: str) -> Any:
    for by_resource in backend.targets.values():
        for target in by_resource.values():
            if target.arn == arn:
                if not hasattr(target, "tags"):
                    target.tags = {}
                return target
    raise _autoscaling_error("ResourceNotFoundException", f"No scalable target found for {arn}")


def autoscaling_tagging(response_class: type) -> None:
    """AWS: scalable targets take tags (RegisterScalableTarget's Tags, TagResource, UntagResource,
    ListTagsForResource by ScalableTargetARN); moto 5.2.5: ignores Tags and the three actions are not
    implemented (HTTP 500).
    """

    def tag_resource(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            target = _scalable_target(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
            target.tags.update(self._get_param("Tags") or {})
            return json.dumps({})

        return handler

    def untag_resource(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            target = _scalable_target(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
            for key in self._get_param("TagKeys") or []:
                target.tags.pop(key, None)
            return json.dumps({})

        return handler

    def list_tags_for_resource(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            target = _scalable_target(self.applicationautoscaling_backend, self._get_param("ResourceARN"))
            return json.dumps({"Tags": dict(target.tags)})

        return handler

    _replace(response_class, "tag_resource", tag_resource)
    _replace(response_class, "untag_resource", untag_resource)
    _replace(response_class, "list_tags_for_resource", list_tags_for_resource)


# =====================================================================================================
# CloudWatch Logs
# =====================================================================================================


def _logs_error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error: Exception = JsonRESTError(code, message)
    return error


def _patch_logs() -> None:
    from moto.logs.responses import LogsResponse as Response

    def describe_log_groups(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            names = self._get_param("logGroupIdentifiers")
            if not names:
                return original(self)
            return json.dumps(logs_describe_log_groups_by_identifiers(self.logs_backend, names))

        return handler

    def associate_kms_key(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            logs_kms_key_association(
                self.logs_backend, self._get_param("logGroupName"), self._get_param("kmsKeyId")
            )
            return json.dumps({})

        return handler

    def disassociate_kms_key(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            logs_kms_key_association(self.logs_backend, self._get_param("logGroupName"), None)
            return json.dumps({})

        return handler

    def delete_log_group(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            backend = self.logs_backend
            group = _log_group(backend, self._get_param("logGroupName"))
            body = original(self)
            logs_delete_log_group_drops_its_tags(backend, group.arn)
            return body

        return handler

    _replace(Response, "describe_log_groups", describe_log_groups)
    _replace(Response, "associate_kms_key", associate_kms_key)
    _replace(Response, "disassociate_kms_key", disassociate_kms_key)
    _replace(Response, "delete_log_group", delete_log_group)


def _log_group(backend: Any, name: str) -> Any:
    group = backend.groups.get(name)
    if group is None:
        raise _logs_error("ResourceNotFoundException", "The specified log group does not exist.")
    return group


def logs_kms_key_association(backend: Any, name: str, key: str | None) -> None:
    """AWS: AssociateKmsKey sets the group's ``kmsKeyId`` (replacing any key) and DisassociateKmsKey
    removes it; moto 5.2.5: neither is implemented (HTTP 500). Like moto's create_log_group, the key
    is not checked against KMS.
    """
    _log_group(backend, name).kms_key_id = key


def logs_describe_log_groups_by_identifiers(backend: Any, names: list[str]) -> dict[str, Any]:
    """AWS: describe_log_groups with ``logGroupIdentifiers`` (at most 50 names of the caller's account)
    answers exactly those groups that exist; moto 5.2.5: ignores the filter and answers every group.
    """
    if len(names) > 50:
        raise _logs_error(
            "InvalidParameterException",
            "logGroupIdentifiers: Member must have length less than or equal to 50",
        )
    groups = [backend.groups[name] for name in sorted(set(names)) if name in backend.groups]
    return {"logGroups": [group.to_describe_dict() for group in groups]}


def logs_delete_log_group_drops_its_tags(backend: Any, arn: str) -> None:
    """AWS: a deleted log group's tags go with it, so a new group of the same name starts untagged;
    moto 5.2.5: keeps them under the ARN, and the new group inherits the old one's ownership tags.
    """
    backend.tagger.delete_all_tags_for_resource(arn)


# =====================================================================================================
# Resource Groups Tagging API
# =====================================================================================================


def _patch_tagging() -> None:
    from moto.core.resource_tagging import TaggableResourcesMixin
    from moto.ecr.models import ECRBackend
    from moto.logs.models import LogsBackend

    if not issubclass(ECRBackend, TaggableResourcesMixin):
        # GetResources walks the backends that mix this in; ECR's does not.
        ECRBackend.SERVICE_NAMESPACE = "ecr"  # type: ignore[attr-defined]
        ECRBackend.__bases__ = (*ECRBackend.__bases__, TaggableResourcesMixin)
    ECRBackend.iter_tagged_resources = tagging_lists_ecr_repositories  # type: ignore[attr-defined]

    from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse as Response

    def get_resources(original: Handler) -> Handler:
        def handler(self: Any) -> Any:
            if self._get_param("TagsPerPage") is not None:
                return original(self)
            return tagging_pages_by_resources_alone(self)

        return handler

    _replace(Response, "get_resources", get_resources)
    LogsBackend.iter_tagged_resources = tagging_types_log_groups_as_aws  # type: ignore[method-assign,assignment]


def tagging_lists_ecr_repositories(backend: Any) -> Iterator[Any]:
    """AWS: GetResources lists ECR repositories (type ``ecr:repository``) with their tags; moto
    5.2.5: ECR takes no part in the Tagging API, so an owned repository is never listed.
    """
    from moto.core.resource_tagging import TaggedResource

    for repository in list(backend.repositories.values()):
        tags = backend.tagger.get_tag_dict_for_resource(repository.arn)
        yield TaggedResource(arn=repository.arn, tags=tags, resource_type="ecr:repository")


def tagging_types_log_groups_as_aws(backend: Any) -> Iterator[Any]:
    """AWS: a log group's resource type is ``logs:log-group``; moto 5.2.5: ``logs:loggroup``, so a
    ``ResourceTypeFilters`` of AWS's name never lists one.
    """
    from moto.core.resource_tagging import TaggedResource

    for group in list(backend.groups.values()):
        tags = backend.tagger.get_tag_dict_for_resource(group.arn)
        yield TaggedResource(arn=group.arn, tags=tags, resource_type="logs:log-group")


def tagging_pages_by_resources_alone(response: Any) -> Any:
    """AWS: a GetResources page without ``TagsPerPage`` holds ``ResourcesPerPage`` resources (at most
    100), however many tags each carries; moto 5.2.5: it also ends a page at 100 tags, its default
    ``TagsPerPage``, so resources with five tags come twenty a page.
    """
    from moto.core.responses import ActionResult

    resources_per_page = response._get_int_param("ResourcesPerPage", 50)
    if resources_per_page not in range(1, 101):
        from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError

        raise ResourceGroupsTaggingAPIError(
            "InvalidParameterException", "ResourcesPerPage must be between 1 and 100"
        )
    token, resources = response.backend.get_resources(
        pagination_token=response._get_param("PaginationToken"),
        tag_filters=response._get_param("TagFilters", []),
        resources_per_page=resources_per_page,
        tags_per_page=10**9,
        resource_type_filters=response._get_param("ResourceTypeFilters", []),
        resource_arn_list=response._get_param("ResourceARNList", []),
    )
    mappings = [
        {"ResourceARN": item.arn, "Tags": [{"Key": key, "Value": value} for key, value in item.tags.items()]}
        for item in resources
    ]
    return ActionResult({"ResourceTagMappingList": mappings, "PaginationToken": token})
