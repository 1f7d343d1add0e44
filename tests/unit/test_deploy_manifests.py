"""Offline checks of the deployment files in deploy/ (deploy/README.md, "What is validated offline").

(a) yamllint over deploy/ (deploy/yamllint.yml); (b) every Kubernetes manifest against the
Kubernetes JSON schemas shipped inside the kubernetes-validate wheel (strict: unknown fields are
errors), and the kustomization lists every manifest; (c) each Dockerfile: FROM, non-root USER,
HEALTHCHECK, EXPOSE = the port of the CMD, no secret in ENV/ARG; (d) compose.yml: builds and
images exist, secrets only from ${...}, host ports on 127.0.0.1 only, HAProxy lists the Rasa
replicas (and `haproxy -c` when Debian's haproxy is installed); (e) Kubernetes, compose and the
Dockerfiles agree on ports and settings, and every secretKeyRef names a key of the Secret
template; (f) the NetworkPolicies allow only the intended paths between the pods (a default deny;
the action server reachable only from Rasa pods on 5055; ...). Every check returns a list of
problems; each has a negative test on a broken copy.
Nothing here needs the network, Docker or a cluster.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from yamllint import linter
from yamllint.config import YamlLintConfig

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# One recent Kubernetes minor version; its schemas are inside the kubernetes-validate wheel.
K8S_VERSION = "1.34.0"
SECRET_TEMPLATE = "secret.template.yaml"
KUSTOMIZATION = "kustomization.yaml"
HAPROXY_CFG_IN_CONTAINER = "/usr/local/etc/haproxy/haproxy.cfg"

# Variable names that hold secrets: their values must never be literals.
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|PRIVATE|(^|_)KEY($|_)|JWT", re.IGNORECASE)
# A compose value taken from the environment: ${VAR}, ${VAR:?msg}, ${VAR?msg} or ${VAR:-} (empty default).
FROM_ENVIRONMENT = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?\?[^}]*)|:?-)?\}$")
PLACEHOLDER = re.compile(r"^(?:|.*REPLACE_ME.*)$")


# --------------------------------------------------------------------------- helpers


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def _k8s_documents(k8s_dir: Path) -> list[tuple[Path, dict]]:
    documents = []
    for path in _yaml_files(k8s_dir):
        if path.name == KUSTOMIZATION:
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                documents.append((path, document))
    return documents


def _component_of_image(image: str) -> str | None:
    """anxin-rasa, registry/anxin/anxin-rasa:1.2 -> rasa (the Dockerfile deploy/docker/rasa.Dockerfile)."""
    name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    return name.removeprefix("anxin-") if name.startswith("anxin-") else None


def _password_problem(where: str, value: str) -> str | None:
    """A URL with user:password@ must take the password from the environment."""
    match = re.search(r"://[^/@\s:]+:(?P<pw>[^@\s]*)@", value)
    if match and not FROM_ENVIRONMENT.match(match.group("pw")):
        return f"{where}: the password in the URL is a literal (use ${{...}})"
    return None


# --------------------------------------------------------------------------- (a) yamllint


def yamllint_problems(directory: Path, config: Path) -> list[str]:
    conf = YamlLintConfig(file=str(config))
    problems = []
    for path in _yaml_files(directory):
        if conf.is_file_ignored(str(path)):
            continue
        for problem in linter.run(path.read_text(encoding="utf-8"), conf, str(path)):
            problems.append(f"{path}:{problem.line}:{problem.column}: [{problem.level}] "
                            f"{problem.desc} ({problem.rule})")
    return problems


# --------------------------------------------------------------------------- (b) Kubernetes schemas


def k8s_schema_problems(k8s_dir: Path, version: str = K8S_VERSION) -> list[str]:
    problems = []
    documents = _k8s_documents(k8s_dir)
    if not documents:
        problems.append(f"{k8s_dir}: no Kubernetes manifest")
    for path, document in documents:
        where = f"{path.name}: {document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            location = ".".join(str(part) for part in error.path) or "(top)"
            problems.append(f"{where}: {location}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{where}: {error.message}")
        except KeyError as error:
            problems.append(f"{where}: missing {error}")
    return problems


def kustomization_problems(k8s_dir: Path) -> list[str]:
    kustomization = yaml.safe_load((k8s_dir / KUSTOMIZATION).read_text(encoding="utf-8"))
    listed = list(kustomization.get("resources") or [])
    problems = [f"{KUSTOMIZATION}: resource {name} does not exist" for name in listed if not (k8s_dir / name).is_file()]
    for path in _yaml_files(k8s_dir):
        name = path.relative_to(k8s_dir).as_posix()
        if name not in (KUSTOMIZATION, SECRET_TEMPLATE) and name not in listed:
            problems.append(f"{KUSTOMIZATION}: {name} is not listed in resources")
    if SECRET_TEMPLATE in listed:
        problems.append(f"{KUSTOMIZATION}: {SECRET_TEMPLATE} holds placeholders and must not be applied")
    return problems


# --------------------------------------------------------------------------- (c) Dockerfiles


def _final_stage(path: Path) -> tuple[list[dict], bool]:
    with path.open("rb") as handle:
        structure = [i for i in DockerfileParser(fileobj=handle).structure if i["instruction"] != "COMMENT"]
    starts = [n for n, i in enumerate(structure) if i["instruction"] == "FROM"]
    return (structure[starts[-1]:] if starts else structure), bool(starts)


def _cmd_text(value: str) -> str:
    try:
        parts = json.loads(value)
    except ValueError:
        return value
    return " ".join(parts) if isinstance(parts, list) else value


def dockerfile_port(path: Path) -> int | None:
    """The port the CMD listens on (--port N)."""
    stage, _ = _final_stage(path)
    cmds = [i["value"] for i in stage if i["instruction"] == "CMD"]
    match = re.search(r"--port[= ]+(\d+)", _cmd_text(cmds[-1])) if cmds else None
    return int(match.group(1)) if match else None


def _assignments(instruction: str, value: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(value)
    except ValueError:
        words = value.split()
    if instruction == "ENV" and words and "=" not in words[0]:  # legacy form: ENV KEY value with spaces
        return [(words[0], " ".join(words[1:]))]
    return [tuple(word.split("=", 1)) if "=" in word else (word, "") for word in words]


def dockerfile_problems(path: Path) -> list[str]:
    stage, has_from = _final_stage(path)
    name = path.name
    problems = [] if has_from else [f"{name}: no FROM"]
    by_kind: dict[str, list[str]] = {}
    for instruction in stage:
        by_kind.setdefault(instruction["instruction"], []).append(instruction["value"])

    users = by_kind.get("USER", [])
    if not users:
        problems.append(f"{name}: no USER (the image would run as root)")
    elif users[-1].split(":", 1)[0].strip() in ("root", "0"):
        problems.append(f"{name}: USER {users[-1]} is root")

    checks = by_kind.get("HEALTHCHECK", [])
    if not checks or checks[-1].strip().upper() == "NONE":
        problems.append(f"{name}: no HEALTHCHECK")

    port = dockerfile_port(path)
    if not by_kind.get("CMD"):
        problems.append(f"{name}: no CMD")
    elif port is None:
        problems.append(f"{name}: the CMD names no --port")
    exposed = {int(p.split("/", 1)[0]) for value in by_kind.get("EXPOSE", []) for p in value.split()}
    if port is not None and exposed != {port}:
        problems.append(f"{name}: EXPOSE {sorted(exposed) or 'missing'} does not match the CMD's port {port}")
    if port is not None and checks:
        check_ports = {int(p) for p in re.findall(r"https?://[^/:'\"\s]+:(\d+)", checks[-1])}
        if check_ports and check_ports != {port}:
            problems.append(f"{name}: HEALTHCHECK probes port {sorted(check_ports)}, the CMD listens on {port}")

    for kind in ("ENV", "ARG"):
        for value in by_kind.get(kind, []):
            for key, setting in _assignments(kind, value):
                if SECRET_NAME.search(key) and setting.strip():
                    problems.append(f"{name}: {kind} {key} sets a secret in the image")
                url_problem = _password_problem(f"{name}: {kind} {key}", setting)
                if url_problem:
                    problems.append(url_problem)
    return problems


# --------------------------------------------------------------------------- (d) compose and HAProxy


def _load_compose(compose: Path) -> dict:
    return yaml.safe_load(compose.read_text(encoding="utf-8"))


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _service_component(service: dict) -> str | None:
    build = service.get("build")
    if isinstance(build, dict) and build.get("dockerfile"):
        stem = Path(build["dockerfile"]).name
        if stem.endswith(".Dockerfile"):
            return stem.removesuffix(".Dockerfile")
    return _component_of_image(str(service.get("image", "")))


def compose_problems(compose: Path) -> list[str]:
    data = _load_compose(compose)
    services = data.get("services") or {}
    problems = [] if services else [f"{compose.name}: no services"]
    built_images = {s.get("image") for s in services.values() if s.get("build") and s.get("image")}
    for name, service in services.items():
        build = service.get("build")
        if build is not None:
            build = {"context": build} if isinstance(build, str) else build
            context = (compose.parent / build.get("context", ".")).resolve()
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            if not context.is_dir():
                problems.append(f"{name}: build context {context} does not exist")
            elif not dockerfile.is_file():
                problems.append(f"{name}: Dockerfile {build.get('dockerfile', 'Dockerfile')} does not exist")
        elif "image" in service:
            image = str(service["image"])
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if image not in built_images and (not tag or tag == "latest"):
                problems.append(f"{name}: image {image} is neither built here nor pinned to a tag")
        else:
            problems.append(f"{name}: neither image nor build")

        for key, value in _environment(service).items():
            if SECRET_NAME.search(key) and not FROM_ENVIRONMENT.match(value.strip()):
                problems.append(f"{name}: {key} is a literal, not ${{...}} from the environment")
            url_problem = _password_problem(f"{name}: {key}", value)
            if url_problem:
                problems.append(url_problem)

        for mapping in service.get("ports") or []:
            text = str(mapping if not isinstance(mapping, dict) else
                       f"{mapping.get('host_ip', '')}:{mapping.get('published')}:{mapping.get('target')}")
            if not text.startswith("127.0.0.1:"):
                problems.append(f"{name}: port {text} is published beyond 127.0.0.1")
    return problems


def parse_haproxy(text: str) -> dict[str, list[list[str]]]:
    """Sections ("backend rasa", "frontend rasa_in", ...) -> their lines as lists of words."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        words = line.split()
        if not raw[0].isspace():
            current = sections.setdefault(" ".join(words[:2]), [])
        elif current is not None:
            current.append(words)
    return sections


def _rasa_port(deploy: Path) -> int | None:
    return dockerfile_port(deploy / "docker" / "rasa.Dockerfile")


def haproxy_problems(deploy: Path) -> list[str]:
    compose = _load_compose(deploy / "compose.yml")
    services = compose.get("services") or {}
    cfg = deploy / "haproxy" / "haproxy.cfg"
    sections = parse_haproxy(cfg.read_text(encoding="utf-8"))
    rasa_port = _rasa_port(deploy)
    replicas = {name for name, s in services.items() if _service_component(s) == "rasa"}
    problems = [] if len(replicas) >= 2 else [f"compose.yml: {len(replicas)} Rasa replica(s), expected at least 2"]

    frontends = {k: v for k, v in sections.items() if k.startswith(("frontend ", "listen "))}
    backends = {k.split(" ", 1)[1]: v for k, v in sections.items() if k.startswith(("backend ", "listen "))}
    if not frontends:
        problems.append("haproxy.cfg: no frontend")
    bind_ports = set()
    for name, lines in frontends.items():
        for words in lines:
            if words[0] == "bind" and len(words) > 1:
                bind_ports.add(int(words[1].rsplit(":", 1)[1]))
            if words[0] == "default_backend" and words[1] not in backends:
                problems.append(f"haproxy.cfg: {name}: default_backend {words[1]} is not defined")
            if words[0] == "default_backend" and words[1] in backends:
                balance = [w[1:] for w in backends[words[1]] if w[0] == "balance"]
                if ["roundrobin"] not in balance:
                    problems.append(f"haproxy.cfg: default backend {words[1]} is not balanced roundrobin")
    for name, lines in backends.items():
        servers = {w[1]: w[2] for w in lines if w[0] == "server" and len(w) > 2}
        if not servers:
            continue
        hosts = {address.rsplit(":", 1)[0] for address in servers.values()}
        if hosts != replicas:
            problems.append(f"haproxy.cfg: backend {name} lists {sorted(hosts)}, compose has Rasa replicas "
                            f"{sorted(replicas)}")
        for server, address in servers.items():
            if address.rsplit(":", 1)[-1] != str(rasa_port):
                problems.append(f"haproxy.cfg: backend {name}: server {server} at {address}, "
                                f"Rasa listens on {rasa_port}")
        if not any(w[:3] == ["option", "httpchk", "GET"] and w[3:4] == ["/"] for w in lines):
            problems.append(f"haproxy.cfg: backend {name} has no health check GET /")

    haproxy = [s for s in services.values() if str(s.get("image", "")).startswith("haproxy")]
    if not haproxy:
        problems.append("compose.yml: no haproxy service")
    for service in haproxy:
        mounts = [str(v) for v in service.get("volumes") or []]
        if not any(m.split(":")[1:2] == [HAPROXY_CFG_IN_CONTAINER] and
                   (deploy / m.split(":")[0]).resolve() == cfg.resolve() for m in mounts):
            problems.append(f"compose.yml: haproxy does not mount haproxy/haproxy.cfg at {HAPROXY_CFG_IN_CONTAINER}")
        published = {str(p) for p in service.get("ports") or []}
        for port in bind_ports:
            if f"127.0.0.1:{port}:{port}" not in published:
                problems.append(f"compose.yml: haproxy does not publish its port {port} on 127.0.0.1")
    return problems


def _haproxy() -> str | None:
    """Debian's haproxy (/usr/sbin may be missing from PATH)."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


def haproxy_syntax_check(cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_haproxy(), "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------- (e) agreement


def _deployments(k8s_dir: Path) -> dict[str, dict]:
    """component -> {"port", "env" (names), "labels", "probe_ports", "secret_refs"}."""
    components: dict[str, dict] = {}
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for _, d in _k8s_documents(k8s_dir)
                  if d.get("kind") == "ConfigMap"}
    for _, document in _k8s_documents(k8s_dir):
        if document.get("kind") != "Deployment":
            continue
        pod = document["spec"]["template"]
        for container in pod["spec"]["containers"]:
            component = _component_of_image(container.get("image", "")) or container["name"]
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
            env = {e["name"] for e in container.get("env") or []}
            secret_refs = [(e["name"], e["valueFrom"]["secretKeyRef"]) for e in container.get("env") or []
                           if "secretKeyRef" in (e.get("valueFrom") or {})]
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    env |= set(configmaps.get(source["configMapRef"]["name"], {}))
                if "secretRef" in source:
                    secret_refs.append(("envFrom", {"name": source["secretRef"]["name"], "key": None}))
            probe_ports = []
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                http = (container.get(probe) or {}).get("httpGet")
                if http:
                    probe_ports.append((probe, ports.get(http["port"], http["port"])))
            components[component] = {"ports": set(ports.values()), "env": env, "probe_ports": probe_ports,
                                     "labels": pod["metadata"].get("labels") or {}, "secret_refs": secret_refs,
                                     "deployment": document["metadata"]["name"],
                                     "named_ports": ports}
    return components


def _k8s_services(k8s_dir: Path, components: dict[str, dict]) -> dict[str, tuple[str | None, int, int | None]]:
    """Service name -> (component it selects, its port, the container port it targets)."""
    services = {}
    for _, document in _k8s_documents(k8s_dir):
        if document.get("kind") != "Service" or document["spec"].get("type") == "ExternalName":
            continue
        selector = document["spec"].get("selector") or {}
        selected = [c for c, facts in components.items()
                    if selector and all(facts["labels"].get(k) == v for k, v in selector.items())]
        component = selected[0] if len(selected) == 1 else None
        for port in document["spec"].get("ports") or []:
            target = port.get("targetPort", port["port"])
            if component and isinstance(target, str):
                target = components[component]["named_ports"].get(target)
            services[document["metadata"]["name"]] = (component, port["port"], target)
    return services


def _url_target(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port


def agreement_problems(deploy: Path) -> list[str]:
    k8s_dir = deploy / "k8s"
    problems = []
    dockerfile_ports = {p.name.removesuffix(".Dockerfile"): dockerfile_port(p)
                        for p in sorted((deploy / "docker").glob("*.Dockerfile"))}
    components = _deployments(k8s_dir)
    services = _k8s_services(k8s_dir, components)
    compose = _load_compose(deploy / "compose.yml")
    compose_services = compose.get("services") or {}

    for component, port in dockerfile_ports.items():
        facts = components.get(component)
        if facts is None:
            problems.append(f"k8s: no Deployment runs the {component} image")
            continue
        if facts["ports"] != {port}:
            problems.append(f"k8s: {facts['deployment']} containerPort {sorted(facts['ports'])}, "
                            f"{component}.Dockerfile listens on {port}")
        for probe, probe_port in facts["probe_ports"]:
            if probe_port != port:
                problems.append(f"k8s: {facts['deployment']} {probe} on port {probe_port}, "
                                f"the server listens on {port}")
        if not any(c == component and p == port and t == port for c, p, t in services.values()):
            problems.append(f"k8s: no Service exposes {component} on port {port}")
        in_compose = {n: s for n, s in compose_services.items() if _service_component(s) == component}
        if not in_compose:
            problems.append(f"compose.yml: no service runs the {component} image")
        for name, service in in_compose.items():
            exposed = {int(str(p).split("/", 1)[0]) for p in service.get("expose") or []}
            targets = {int(str(p).rsplit(":", 1)[-1]) for p in service.get("ports") or [] if not isinstance(p, dict)}
            if exposed != {port} or not targets <= {port}:
                problems.append(f"compose.yml: {name} exposes {sorted(exposed)} / publishes {sorted(targets)}, "
                                f"{component}.Dockerfile listens on {port}")
            missing = set(_environment(service)) - facts["env"]
            if missing:
                problems.append(f"k8s: {facts['deployment']} lacks {sorted(missing)}, which compose gives {name}")

    # URLs between the servers: ANXIN_ACTION_URL -> actions, ANXIN_RASA_URL -> rasa.
    haproxy_names = {n for n, s in compose_services.items() if str(s.get("image", "")).startswith("haproxy")}
    for variable, component in (("ANXIN_ACTION_URL", "actions"), ("ANXIN_RASA_URL", "rasa")):
        port = dockerfile_ports.get(component)
        for _, document in _k8s_documents(k8s_dir):
            value = (document.get("data") or {}).get(variable) if document.get("kind") == "ConfigMap" else None
            if value:
                host, url_port = _url_target(value)
                service = services.get(host)
                if service is None or service[0] != component or service[1] != url_port:
                    problems.append(f"k8s ConfigMap: {variable}={value} does not reach a Service of {component} "
                                    f"on its port")
        for name, compose_service in compose_services.items():
            value = _environment(compose_service).get(variable)
            if not value:
                continue
            host, url_port = _url_target(value)
            target = compose_services.get(host)
            if host in haproxy_names and component == "rasa":
                target_port = {int(str(p).rsplit(":", 1)[-1]) for p in target.get("ports") or []}
                ok = url_port in target_port
            else:
                ok = target is not None and _service_component(target) == component and url_port == port
            if not ok:
                problems.append(f"compose.yml: {name}: {variable}={value} does not reach {component} on port {port}")

    problems += secret_ref_problems(k8s_dir, components)
    return problems


def secret_ref_problems(k8s_dir: Path, components: dict[str, dict] | None = None) -> list[str]:
    components = components if components is not None else _deployments(k8s_dir)
    template = k8s_dir / SECRET_TEMPLATE
    if not template.is_file():
        return [f"k8s: {SECRET_TEMPLATE} is missing"]
    secrets = [d for d in yaml.safe_load_all(template.read_text(encoding="utf-8")) if d and d.get("kind") == "Secret"]
    if len(secrets) != 1:
        return [f"{SECRET_TEMPLATE}: expected one Secret, found {len(secrets)}"]
    secret = secrets[0]
    values = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
    problems = [f"{SECRET_TEMPLATE}: {key} is not a placeholder (REPLACE_ME or empty)"
                for key, value in values.items()
                if not PLACEHOLDER.match("" if value is None else str(value))]
    if secret.get("data"):
        problems.append(f"{SECRET_TEMPLATE}: use stringData with placeholders, not base64 data")
    for facts in components.values():
        for variable, ref in facts["secret_refs"]:
            if ref["name"] != secret["metadata"]["name"]:
                problems.append(f"k8s: {facts['deployment']} {variable} refers to Secret {ref['name']}, "
                                f"the template defines {secret['metadata']['name']}")
            elif ref["key"] is not None and ref["key"] not in values:
                problems.append(f"k8s: {facts['deployment']} {variable} refers to key {ref['key']}, "
                                f"absent from {SECRET_TEMPLATE}")
    return problems


# --------------------------------------------------------------------------- (f) network policies

# The paths between the pods (deploy/k8s/network-policies.yaml), as (peer, port) per component:
# a peer is ("pod", component) or ("namespace", name) (the ingress controller's namespace).
INGRESS_CONTROLLER = "namespace"
EXPECTED_INGRESS = {"actions": {(("pod", "rasa"), 5055)},
                    "rasa": {(INGRESS_CONTROLLER, 5005), (("pod", "copilot"), 5005)},
                    "copilot": {(INGRESS_CONTROLLER, 5077)}}
EXPECTED_POD_EGRESS = {"rasa": {(("pod", "actions"), 5055)}, "copilot": {(("pod", "rasa"), 5005)}, "actions": set()}
DATABASE_PORTS = {5432, 6379}


def _selects(selector: dict | None, labels: dict) -> bool:
    """A label selector with matchLabels only (matchExpressions are reported, not evaluated)."""
    selector = selector or {}
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _peers(rule_peers: list | None, components: dict[str, dict], where: str, problems: list[str]) -> list:
    """The peers of one rule: ("pod", component), ("namespace", name), ("ip", cidr), or ("anyone",)."""
    if not rule_peers:
        return [("anyone",)]
    found = []
    for peer in rule_peers:
        if any("matchExpressions" in (peer.get(k) or {}) for k in ("podSelector", "namespaceSelector")):
            problems.append(f"{where}: matchExpressions are not checked here; use matchLabels")
        if "ipBlock" in peer:
            found.append(("ip", peer["ipBlock"]["cidr"]))
        elif "namespaceSelector" in peer:
            names = (peer["namespaceSelector"].get("matchLabels") or {}).get("kubernetes.io/metadata.name")
            found.append(("namespace", names or "any namespace"))
        else:
            selected = [c for c, facts in components.items() if _selects(peer.get("podSelector"), facts["labels"])]
            found += [("pod", c) for c in selected] or [("pod", "no pod of ours")]
    return found


def allowed_paths(k8s_dir: Path) -> tuple[dict[str, dict[str, set]], list[str]]:
    """component -> {"ingress": {(peer, port)}, "egress": {(peer, port)}} as the NetworkPolicies
    allow them (port None: every port), and the problems found on the way (no default deny)."""
    components = _deployments(k8s_dir)
    policies = [d for _, d in _k8s_documents(k8s_dir) if d.get("kind") == "NetworkPolicy"]
    problems = []
    if not any(not (p["spec"].get("podSelector") or {}).get("matchLabels")
               and {"Ingress", "Egress"} <= set(p["spec"].get("policyTypes") or [])
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        problems.append("k8s: no default-deny NetworkPolicy (every pod, ingress and egress, no rule)")
    paths = {c: {"ingress": set(), "egress": set()} for c in components}
    for policy in policies:
        name = policy["metadata"]["name"]
        spec = policy["spec"]
        types = set(spec.get("policyTypes") or ["Ingress"])
        for component, facts in components.items():
            if not _selects(spec.get("podSelector"), facts["labels"]):
                continue
            for direction, key, peers_key in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
                if direction not in types:
                    continue
                for rule in spec.get(key) or []:
                    peers = _peers(rule.get(peers_key), components, f"NetworkPolicy {name}", problems)
                    ports = [p.get("port") for p in rule.get("ports") or []] or [None]
                    paths[component][key] |= {(peer, port) for peer in peers for port in ports}
    return paths, problems


def network_policy_problems(k8s_dir: Path) -> list[str]:
    paths, problems = allowed_paths(k8s_dir)
    for component, expected in EXPECTED_INGRESS.items():
        if component not in paths:
            problems.append(f"k8s: no Deployment for {component}")
            continue
        allowed = {(INGRESS_CONTROLLER if peer[0] == "namespace" else peer, port)
                   for peer, port in paths[component]["ingress"]}
        for peer, port in sorted(allowed - expected, key=str):
            problems.append(f"k8s: {component} accepts ingress from {peer} on {port or 'every port'}")
        for peer, port in sorted(expected - allowed, key=str):
            problems.append(f"k8s: {component} does not accept ingress from {peer} on {port}")
    for component, expected in EXPECTED_POD_EGRESS.items():
        egress = paths.get(component, {}).get("egress", set())
        to_pods = {(peer, port) for peer, port in egress if peer[0] in ("pod", "anyone")}
        for peer, port in sorted(to_pods - expected, key=str):
            problems.append(f"k8s: {component} may send to {peer} on {port or 'every port'}")
        for peer, port in sorted(expected - to_pods, key=str):
            problems.append(f"k8s: {component} may not send to {peer} on {port}")
        if any(port is None for _, port in egress):
            problems.append(f"k8s: {component} may send on every port")
        reached = {port for peer, port in egress if peer[0] == "ip"}
        if not DATABASE_PORTS <= reached:
            problems.append(f"k8s: {component} cannot reach PostgreSQL and Redis ({sorted(DATABASE_PORTS - reached)})")
        if 53 not in {port for _, port in egress}:
            problems.append(f"k8s: {component} cannot reach DNS")
    return problems


# =========================================================================== tests on the real files


def test_yamllint_passes_on_deploy():
    assert _yaml_files(DEPLOY), "no YAML file under deploy/"
    assert yamllint_problems(DEPLOY, DEPLOY / "yamllint.yml") == []


def test_k8s_manifests_match_the_kubernetes_schemas():
    assert kubernetes_validate.utils.major_minor(K8S_VERSION) in {
        kubernetes_validate.utils.major_minor(v) for v in kubernetes_validate.utils.all_versions()}
    assert k8s_schema_problems(DEPLOY / "k8s") == []


def test_kustomization_lists_every_manifest_but_the_secret_template():
    assert kustomization_problems(DEPLOY / "k8s") == []


@pytest.mark.parametrize("name", ["rasa", "actions", "copilot"])
def test_dockerfile(name):
    path = DEPLOY / "docker" / f"{name}.Dockerfile"
    assert dockerfile_problems(path) == []


def test_dockerfile_ports():
    ports = {p.name: dockerfile_port(p) for p in (DEPLOY / "docker").glob("*.Dockerfile")}
    assert ports == {"rasa.Dockerfile": 5005, "actions.Dockerfile": 5055, "copilot.Dockerfile": 5077}


def test_compose_file():
    assert compose_problems(DEPLOY / "compose.yml") == []


def test_haproxy_lists_the_rasa_replicas():
    assert haproxy_problems(DEPLOY) == []


def test_haproxy_config_syntax():
    if _haproxy() is None:
        pytest.skip("Debian's haproxy is not installed (apt-get install haproxy): `haproxy -c` skipped; "
                    "the config is still parsed by test_haproxy_lists_the_rasa_replicas")
    result = haproxy_syntax_check(DEPLOY / "haproxy" / "haproxy.cfg")
    assert result.returncode == 0, result.stdout + result.stderr


def test_kustomize_build_renders_valid_manifests():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize` skipped; every manifest file is still "
                    "schema-checked by test_k8s_manifests_match_the_kubernetes_schemas")
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / "k8s")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {d["kind"] for d in rendered} >= {"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap"}
    assert all(d["metadata"].get("namespace") == "anxin" for d in rendered if d["kind"] != "Namespace")
    for document in rendered:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def test_k8s_and_compose_agree():
    assert agreement_problems(DEPLOY) == []


def test_every_secret_key_ref_is_in_the_secret_template():
    components = _deployments(DEPLOY / "k8s")
    assert any(facts["secret_refs"] for facts in components.values())
    assert secret_ref_problems(DEPLOY / "k8s", components) == []


def test_network_policies_allow_only_the_intended_paths():
    paths, _ = allowed_paths(DEPLOY / "k8s")
    assert paths["actions"]["ingress"] == {(("pod", "rasa"), 5055)}  # the action server: Rasa only
    assert network_policy_problems(DEPLOY / "k8s") == []


def test_sizing_placeholder_is_marked_not_measured():
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "turns/s per replica: to be measured by bench/ (not yet measured)" in readme


# =========================================================================== negative tests: each check can fail


@pytest.fixture
def broken(tmp_path) -> Path:
    """A copy of deploy/ in tmp_path (compose's build context `..` is then tmp_path)."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}: update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _has(problems: list[str], *words: str) -> bool:
    return any(all(word in problem for word in words) for problem in problems)


def test_yamllint_reports_bad_yaml(tmp_path):
    (tmp_path / "bad.yml").write_text("key: value   \nkey: 2\nlist: [1,2]\n", encoding="utf-8")
    problems = yamllint_problems(tmp_path, DEPLOY / "yamllint.yml")
    assert _has(problems, "trailing-spaces") and _has(problems, "key-duplicates"), problems


@pytest.mark.parametrize("old, new, expected", [
    ("  replicas: 2\n", "  replicas: two\n", "replicas"),
    ("containerPort: 5005", "containerport: 5005", "'containerPort' is a required property"),
    ("  replicas: 2\n", "  replicas: 2\n  replicaz: 3\n", "replicaz"),  # strict: unknown fields are errors
    ("apiVersion: apps/v1\nkind: Deployment", "apiVersion: apps/v1beta9\nkind: Deployment", "apps/v1beta9"),
])
def test_schema_check_reports_invalid_manifest(broken, old, new, expected):
    edit(broken / "k8s" / "rasa.yaml", old, new)
    problems = k8s_schema_problems(broken / "k8s")
    assert _has(problems, "rasa.yaml", expected), problems


def test_kustomization_check_reports_unlisted_and_missing(broken):
    edit(broken / "k8s" / KUSTOMIZATION, "  - hpa.yaml\n", "  - hpa-missing.yaml\n")
    problems = kustomization_problems(broken / "k8s")
    assert _has(problems, "hpa.yaml is not listed") and _has(problems, "hpa-missing.yaml does not exist"), problems


GOOD_DOCKERFILE = """\
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \\
    SANIC_HOST=0.0.0.0
USER 10001:10001
EXPOSE 5055
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health')"]
CMD ["python", "-m", "bot.action_server", "--port", "5055"]
"""


@pytest.mark.parametrize("old, new, expected", [
    ("FROM python:3.11-slim\n", "", "no FROM"),
    ("USER 10001:10001\n", "", "no USER"),
    ("USER 10001:10001", "USER root", "is root"),
    ("USER 10001:10001", "USER 0:0", "is root"),
    ("HEALTHCHECK CMD", "HEALTHCHECK NONE\n# CMD", "no HEALTHCHECK"),
    ("EXPOSE 5055", "EXPOSE 5000", "does not match the CMD's port 5055"),
    ("EXPOSE 5055\n", "", "EXPOSE missing"),
    ("127.0.0.1:5055/health", "127.0.0.1:5000/health", "HEALTHCHECK probes port [5000]"),
    ('"--port", "5055"', '"--workers", "2"', "names no --port"),
    ("SANIC_HOST=0.0.0.0", "ANXIN_API_TOKEN=0123456789abcdef", "ENV ANXIN_API_TOKEN sets a secret"),
    ("USER 10001:10001", "ENV WECHAT_APP_SECRET s3cr3t value\nUSER 10001:10001", "WECHAT_APP_SECRET sets a secret"),
    ("USER 10001:10001", "ARG ANXIN_COPILOT_TOKEN=abc\nUSER 10001:10001", "ARG ANXIN_COPILOT_TOKEN"),
    ("SANIC_HOST=0.0.0.0", "ANXIN_BANK_DB_URL=postgresql://anxin:pw@db/anxin", "password in the URL"),
])
def test_dockerfile_check_reports(tmp_path, old, new, expected):
    good = tmp_path / "good.Dockerfile"
    good.write_text(GOOD_DOCKERFILE, encoding="utf-8")
    assert dockerfile_problems(good) == []
    bad = tmp_path / "bad.Dockerfile"
    assert old in GOOD_DOCKERFILE
    bad.write_text(GOOD_DOCKERFILE.replace(old, new, 1), encoding="utf-8")
    problems = dockerfile_problems(bad)
    assert _has(problems, expected), problems


@pytest.mark.parametrize("old, new, expected", [
    ("${ANXIN_API_TOKEN:?set ANXIN_API_TOKEN}\n    # The app", "0123456789abcdef\n    # The app",
     "ANXIN_API_TOKEN is a literal"),
    ("${ANXIN_API_TOKEN:?set ANXIN_API_TOKEN}\n    depends_on:\n      postgres:\n        condition: service_healthy\n"
     "      haproxy:", "${ANXIN_API_TOKEN:-letmein}\n    depends_on:\n      postgres:\n"
     "        condition: service_healthy\n      haproxy:", "ANXIN_API_TOKEN is a literal"),
    ("POSTGRES_PASSWORD: ${ANXIN_DB_PASSWORD:?set ANXIN_DB_PASSWORD}", "POSTGRES_PASSWORD: hunter2",
     "POSTGRES_PASSWORD is a literal"),
    ("anxin:${ANXIN_DB_PASSWORD:?set ANXIN_DB_PASSWORD}@postgres:5432/anxin_bank",
     "anxin:hunter2@postgres:5432/anxin_bank", "password in the URL is a literal"),
    ("dockerfile: deploy/docker/actions.Dockerfile", "dockerfile: deploy/docker/action.Dockerfile",
     "action.Dockerfile does not exist"),
    ("context: ..\n    dockerfile: deploy/docker/rasa", "context: ../nowhere\n    dockerfile: deploy/docker/rasa",
     "build context"),
    ("image: redis:7", "image: redis", "image redis is neither built here nor pinned"),
    ('"127.0.0.1:5077:5077"', '"5077:5077"', "published beyond 127.0.0.1"),
])
def test_compose_check_reports(broken, old, new, expected):
    edit(broken / "compose.yml", old, new)
    problems = compose_problems(broken / "compose.yml")
    assert _has(problems, expected), problems


@pytest.mark.parametrize("target, old, new, expected", [
    ("haproxy/haproxy.cfg", "    server rasa-2 rasa-2:5005 cookie rasa-2\n", "", "backend rasa lists ['rasa-1']"),
    ("haproxy/haproxy.cfg", "server rasa-1 rasa-1:5005 cookie", "server rasa-1 rasa-1:5006 cookie",
     "Rasa listens on 5005"),
    ("haproxy/haproxy.cfg", "    balance roundrobin\n", "    balance leastconn\n", "not balanced roundrobin"),
    ("haproxy/haproxy.cfg", "    option httpchk GET /\n", "", "no health check GET /"),
    ("compose.yml", "  rasa-2: *rasa\n", "  rasa-2: *rasa\n  rasa-3: *rasa\n",
     "Rasa replicas ['rasa-1', 'rasa-2', 'rasa-3']"),
    ("compose.yml", '"127.0.0.1:5005:5005"', '"0.0.0.0:5005:5005"', "does not publish its port 5005 on 127.0.0.1"),
    ("compose.yml", "./haproxy/haproxy.cfg:", "./haproxy/other.cfg:", "does not mount haproxy/haproxy.cfg"),
])
def test_haproxy_check_reports(broken, target, old, new, expected):
    edit(broken / target, old, new)
    problems = haproxy_problems(broken)
    assert _has(problems, expected), problems


def test_haproxy_syntax_check_reports_a_broken_config(tmp_path):
    if _haproxy() is None:
        pytest.skip("Debian's haproxy is not installed (apt-get install haproxy): `haproxy -c` skipped")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text((DEPLOY / "haproxy" / "haproxy.cfg").read_text(encoding="utf-8")
                   .replace("balance roundrobin", "balance no-such-algorithm"), encoding="utf-8")
    assert haproxy_syntax_check(cfg).returncode != 0


@pytest.mark.parametrize("target, old, new, expected", [
    ("k8s/actions.yaml", "containerPort: 5055", "containerPort: 5056", "containerPort [5056]"),
    ("k8s/actions.yaml", "      port: 5055\n", "      port: 5056\n", "ANXIN_ACTION_URL"),
    ("k8s/copilot.yaml", "              path: /health/ready\n              port: http\n            periodSeconds: 10",
     "              path: /health/ready\n              port: 8080\n            periodSeconds: 10",
     "readinessProbe on port 8080"),
    ("k8s/configmap.yaml", "http://anxin-actions:5055/webhook", "http://anxin-actions:5505/webhook",
     "ANXIN_ACTION_URL=http://anxin-actions:5505/webhook"),
    ("k8s/configmap.yaml", "ANXIN_RASA_URL: http://anxin-rasa:5005", "ANXIN_RASA_URL: http://anxin-actions:5055",
     "ANXIN_RASA_URL"),
    ("compose.yml", '    expose:\n      - "5055"', '    expose:\n      - "5056"', "actions exposes [5056]"),
    ("compose.yml", "ANXIN_ACTION_URL: http://actions:5055/webhook", "ANXIN_ACTION_URL: http://actions:5056/webhook",
     "ANXIN_ACTION_URL=http://actions:5056/webhook does not reach actions"),
    ("k8s/copilot.yaml", "            - name: ANXIN_API_TOKEN\n              valueFrom:\n"
     "                secretKeyRef:\n                  name: anxin-secrets\n"
     "                  key: ANXIN_API_TOKEN\n", "",
     "lacks ['ANXIN_API_TOKEN']"),
    ("k8s/rasa.yaml", "                  key: WECHAT_APP_SECRET", "                  key: WECHAT_SECRET",
     "key WECHAT_SECRET, absent from"),
    ("k8s/actions.yaml", "                  name: anxin-secrets", "                  name: anxin-secret",
     "refers to Secret anxin-secret,"),
    ("k8s/secret.template.yaml", "ANXIN_API_TOKEN: REPLACE_ME", "ANXIN_API_TOKEN: 0123456789abcdef",
     "ANXIN_API_TOKEN is not a placeholder"),
])
def test_agreement_check_reports(broken, target, old, new, expected):
    edit(broken / target, old, new)
    problems = agreement_problems(broken)
    assert _has(problems, expected), problems


ACTIONS_FROM = ("              app.kubernetes.io/component: rasa\n      ports:\n        - protocol: TCP\n"
                "          port: 5055")


@pytest.mark.parametrize("old, new, expected", [
    (ACTIONS_FROM, ACTIONS_FROM.replace("rasa", "copilot"), "actions accepts ingress from ('pod', 'copilot')"),
    (ACTIONS_FROM, "              app.kubernetes.io/component: rasa",
     "actions accepts ingress from ('pod', 'rasa') on every"),
    ("  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n"
     "              app.kubernetes.io/name: anxin\n"
     "              app.kubernetes.io/component: rasa\n", "  ingress:\n    - ports:\n        - protocol: TCP\n"
     "          port: 5055\n    - from:\n        - podSelector:\n            matchLabels:\n"
     "              app.kubernetes.io/name: anxin\n              app.kubernetes.io/component: rasa\n",
     "actions accepts ingress from ('anyone',)"),
    ("  policyTypes:\n    - Ingress\n    - Egress\n---", "  policyTypes:\n    - Ingress\n---", "no default-deny"),
    ("              app.kubernetes.io/component: actions\n      ports:\n        - protocol: TCP\n          port: 5055",
     "              app.kubernetes.io/component: copilot\n      ports:\n        - protocol: TCP\n          port: 5077",
     "rasa may send to ('pod', 'copilot')"),
    ("          port: 6379\n", "          port: 6380\n", "cannot reach PostgreSQL and Redis"),
])
def test_network_policy_check_reports(broken, old, new, expected):
    edit(broken / "k8s" / "network-policies.yaml", old, new)
    problems = network_policy_problems(broken / "k8s")
    assert _has(problems, expected), problems
