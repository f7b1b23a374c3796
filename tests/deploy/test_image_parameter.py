"""deploy/kustomization.yaml: the datong image is one parameter, set once for every process."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.manifests import DEPLOY, K8S_DIR, load_documents

KUSTOMIZATION = DEPLOY / "kustomization.yaml"


def _pods(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _images(docs: list[dict[str, Any]]) -> list[str]:
    return [container["image"] for doc in docs for container in _pods(doc)]


def _listed() -> list[str]:
    resources: list[str] = yaml.safe_load(KUSTOMIZATION.read_text())["resources"]
    return resources


def _shipped() -> list[dict[str, Any]]:
    """The documents of the manifests the kustomization lists, as committed."""
    return [doc for path in _listed() for doc in load_documents(DEPLOY / path)]


def _rendered(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: `make test` installs Debian's kubernetes-client"
    out = subprocess.run(
        [kubectl, "kustomize", str(folder)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_every_manifest_that_runs_the_datong_image_is_in_the_kustomization() -> None:
    listed = {Path(p).name for p in _listed()}
    running = {
        path.name
        for path in K8S_DIR.glob("*.yaml")
        if any(image.split(":")[0] == "datong" for image in _images(load_documents(path)))
    }
    assert running, "no manifest runs the datong image: the test looks in the wrong place"
    assert listed == running


def test_one_image_setting_reaches_every_container_and_init_container(tmp_path: Path) -> None:
    # An overlay as an operator writes it: the shipped kustomization as its base, one image.
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [
                    os.path.relpath(DEPLOY, tmp_path)
                ],  # kustomize takes no absolute root
                "images": [
                    {
                        "name": "datong",
                        "newName": "registry.example.org/gov/datong",
                        "newTag": "9.9.9",
                    }
                ],
            }
        )
    )
    shipped = _shipped()
    rendered = _rendered(tmp_path)

    assert len(rendered) == len(shipped)
    expected = [
        "registry.example.org/gov/datong:9.9.9" if image.split(":")[0] == "datong" else image
        for image in _images(shipped)
    ]
    assert sorted(_images(rendered)) == sorted(expected)
    assert "registry.example.org/gov/datong:9.9.9" in expected


def test_the_shipped_kustomization_renders_the_manifests_unchanged() -> None:
    shipped = _shipped()
    key = lambda doc: (doc["kind"], doc["metadata"]["name"])  # noqa: E731
    assert sorted(_rendered(DEPLOY), key=key) == sorted(shipped, key=key)
