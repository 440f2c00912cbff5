# The gitops-gen image the scheduled drift audit runs (clusters/<cluster>/audit/<env>/cronjob.yaml).
# Build: docker build -t ghcr.io/aether/gitops-gen:$(python -c 'import gitops_gen; print(gitops_gen.__version__)') .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gitops_gen ./gitops_gen
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
# git: the audit's init container clones the GitOps repository (`gitops-gen clone`, HTTPS);
# openssh-client: the same over SSH (drift.repoCredentials type ssh); gitpython needs git too.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /install /usr/local
# A fixed non-root user, matching the CronJob's runAsUser/runAsGroup.
RUN groupadd --gid 65532 gitops-gen && useradd --uid 65532 --gid 65532 --no-create-home gitops-gen
USER 65532:65532
ENV HOME=/tmp PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["gitops-gen"]
CMD ["--help"]
