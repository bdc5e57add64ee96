#!/usr/bin/env bash
# Print the path of a helm binary, building it once from the Go module proxy.
#
# helm is not packaged for this machine; `go install` builds the pinned release from
# helm.sh/helm/v3 and the binary is kept outside the checkout (keyed by version), so
# every later run and every fresh clone on the same machine reuses it. helm v3.21 needs
# Go 1.26 (this machine kind has it in /usr/local/go; Debian's golang-go is too old).
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.21.4}
# helm's own Makefile stamps these at link time; without them `helm version` is blank and
# `helm template` assumes Kubernetes 1.20. 1.36: the k8s.io modules v3.21.4 builds with.
K8S_MINOR=${HELM_K8S_MINOR:-36}
BIN=${INFERWATCH_TOOLS:-$HOME/.cache/inferwatch/bin}/helm-$HELM_VERSION
if [ ! -x "$BIN/helm" ]; then
  export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { echo "helm.sh: Go is needed to build helm $HELM_VERSION" >&2; exit 1; }
  mkdir -p "$BIN"
  start=$(date +%s)
  echo "helm.sh: building helm $HELM_VERSION from the Go module proxy (once) ..." >&2
  pkg=helm.sh/helm/v3
  ldflags="-w -s -X $pkg/internal/version.version=$HELM_VERSION"
  for p in pkg/chartutil pkg/lint/rules; do
    ldflags+=" -X $pkg/$p.k8sVersionMajor=1 -X $pkg/$p.k8sVersionMinor=$K8S_MINOR"
  done
  GOBIN="$BIN" GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    go install -ldflags "$ldflags" "$pkg/cmd/helm@$HELM_VERSION" >&2
  echo "helm.sh: built $BIN/helm in $(( $(date +%s) - start ))s" >&2
fi
echo "$BIN/helm"
