"""The test environment: real servers the tests, benchmarks and `make cluster` run against.

One module per component, each with build/find → start → ready → stop:

* ``kube.py`` — etcd, kube-apiserver and kube-controller-manager (the control plane);
* ``apprepo.py`` — the application repository holding the stand-in platform chart;
* ``gobuild.py`` — building pinned Go programs from the Go module proxy into the cache;
* ``process.py`` — starting, probing and always stopping server processes.
* ``receivers.py`` — loopback notification receivers (JSON webhook, Slack, GitHub and
  GitLab issues) that check and record every request.

Command line: ``python -m tests.testenv build|run`` (``--help`` lists the options).
"""
