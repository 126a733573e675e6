#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A minimal CRI client for hull's tests: the kubelet's calls to containerd's
CRI gRPC socket (runtime.v1.RuntimeService), one per invocation.

Message classes come from api.proto beside this file (a subset of
k8s.io/cri-api with the upstream field numbers), compiled by protoc into
$CRI_PY_OUT (default: a directory under /tmp) on first use; calls go through
grpc's generic unary_unary, so no gRPC code generation is needed. Debian:
python3-grpcio, python3-protobuf, protobuf-compiler.

  cri.py SOCK version
  cri.py SOCK runp POD HANDLER LOGDIR [MEM_BYTES CPU_QUOTA CPU_PERIOD]  -> id
  cri.py SOCK create POD_ID POD LOGDIR IMAGE NAME CMD...                -> id
  cri.py SOCK start|rm|stopp|rmp ID
  cri.py SOCK stop ID TIMEOUT_S
  cri.py SOCK status ID          -> "STATE EXIT_CODE"
  cri.py SOCK podip POD_ID       -> the pod's IP (PodSandboxStatus, from CNI)
  cri.py SOCK exec ID TIMEOUT_S CMD...   stdout/stderr relayed, exits with its code

The pod's config is rebuilt from POD and LOGDIR for CreateContainer, as the
kubelet passes it again there.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_api():
    out = os.environ.get("CRI_PY_OUT") or "/tmp/hull-cri-py-%d" % os.getuid()
    mod = os.path.join(out, "api_pb2.py")
    src = os.path.join(HERE, "api.proto")
    if not os.path.exists(mod) or os.path.getmtime(mod) < os.path.getmtime(src):
        os.makedirs(out, exist_ok=True)
        subprocess.run(["protoc", "-I", HERE, "--python_out=" + out, src], check=True)
    sys.path.insert(0, out)
    import api_pb2  # noqa: E402

    return api_pb2


api = load_api()
import grpc  # noqa: E402

SERVICE = "/runtime.v1.RuntimeService/"


def call(channel, method, req, resp_type, timeout=600):
    fn = channel.unary_unary(
        SERVICE + method,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=resp_type.FromString,
    )
    return fn(req, timeout=timeout)


def pod_config(name, logdir, res=None):
    cfg = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid="uid-" + name, namespace="hulltest"),
        hostname=name,
        log_directory=logdir,
    )
    if res:
        mem, quota, period = res
        cfg.linux.resources.memory_limit_in_bytes = mem
        cfg.linux.resources.cpu_quota = quota
        cfg.linux.resources.cpu_period = period
    return cfg


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    ch = grpc.insecure_channel("unix://" + argv[1])
    op, args = argv[2], argv[3:]
    if op == "version":
        r = call(ch, "Version", api.VersionRequest(version="v1"), api.VersionResponse)
        print(r.runtime_name, r.runtime_version, r.runtime_api_version)
    elif op == "runp":
        res = tuple(int(x) for x in args[3:6]) if len(args) >= 6 else None
        req = api.RunPodSandboxRequest(
            config=pod_config(args[0], args[2], res), runtime_handler=args[1]
        )
        print(call(ch, "RunPodSandbox", req, api.RunPodSandboxResponse).pod_sandbox_id)
    elif op == "create":
        pod_id, pod, logdir, image, name, cmd = args[0], args[1], args[2], args[3], args[4], args[5:]
        cfg = api.ContainerConfig(
            metadata=api.ContainerMetadata(name=name),
            image=api.ImageSpec(image=image),
            command=cmd,
            log_path=name + ".log",
        )
        req = api.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=cfg, sandbox_config=pod_config(pod, logdir)
        )
        print(call(ch, "CreateContainer", req, api.CreateContainerResponse).container_id)
    elif op == "start":
        call(ch, "StartContainer", api.StartContainerRequest(container_id=args[0]),
             api.StartContainerResponse)
    elif op == "stop":
        call(ch, "StopContainer",
             api.StopContainerRequest(container_id=args[0], timeout=int(args[1])),
             api.StopContainerResponse)
    elif op == "rm":
        call(ch, "RemoveContainer", api.RemoveContainerRequest(container_id=args[0]),
             api.RemoveContainerResponse)
    elif op == "stopp":
        call(ch, "StopPodSandbox", api.StopPodSandboxRequest(pod_sandbox_id=args[0]),
             api.StopPodSandboxResponse)
    elif op == "rmp":
        call(ch, "RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id=args[0]),
             api.RemovePodSandboxResponse)
    elif op == "status":
        st = call(ch, "ContainerStatus", api.ContainerStatusRequest(container_id=args[0]),
                  api.ContainerStatusResponse).status
        print(api.ContainerState.Name(st.state), st.exit_code)
    elif op == "podip":
        req = api.PodSandboxStatusRequest(pod_sandbox_id=args[0])
        print(call(ch, "PodSandboxStatus", req, api.PodSandboxStatusResponse).status.network.ip)
    elif op == "exec":
        req = api.ExecSyncRequest(container_id=args[0], timeout=int(args[1]), cmd=args[2:])
        r = call(ch, "ExecSync", req, api.ExecSyncResponse)
        sys.stdout.buffer.write(r.stdout)
        sys.stderr.buffer.write(r.stderr)
        return r.exit_code
    else:
        print("unknown operation " + op, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except grpc.RpcError as e:
        print("cri.py %s: %s: %s" % (sys.argv[2], e.code().name, e.details()), file=sys.stderr)
        sys.exit(1)
