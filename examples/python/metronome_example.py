#!/usr/bin/python3
"""A Metronome client in Python with nothing but grpcio, protobuf and the .proto files.

It adds a job, runs it now, executes it as a worker for the job's handler over the worker
protocol (docs/protocol.md), and reads the job's events from the event stream. The run is
requested before this worker connects, so the server says it is at risk: AddJob answers
workerCount 0 and a JOB_AT_RISK event comes before JOB_SUBMITTED. Message classes
come from a descriptor set compiled from proto/ (no generated code to keep in sync):

    npx buf build proto --as-file-descriptor-set -o metronome.binpb
    /usr/bin/python3 examples/python/metronome_example.py 127.0.0.1:8080 metronome.binpb

Debian: apt-get install python3-grpcio python3-grpc-tools (grpcio 1.51, protobuf 4.21), then run
it with Debian's /usr/bin/python3 (a python3 first on PATH, such as pyenv's, lacks them).
Prints one JSON line with what happened; exits non-zero if anything did not go as expected.

Numbers: `args`, `kwargs` and `result` are google.protobuf.ListValue/Struct/Value, where every
number is a double, so json_format hands Python 21.0 for 21. This client sends and reads the
`args_json`, `kwargs_json` and `result_json` twins instead (JSON text, integers exact up to
2^53 - 1; see docs/api.md, "How numbers travel").
"""
import json
import sys
import threading
import queue

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def load_messages(path):
    """Every message class of the descriptor set, by full name (e.g. metronome.v1.Job)."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(path, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    classes = {}
    for f in fds.file:
        fd = pool.FindFileByName(f.name)

        def collect(desc):
            get = getattr(message_factory, "GetMessageClass", None)
            classes[desc.full_name] = get(desc) if get else factory.GetPrototype(desc)
            for nested in desc.nested_types:
                collect(nested)

        for desc in fd.message_types_by_name.values():
            collect(desc)
    return classes


class Metronome:
    """Typed-enough access to the services over one channel."""

    def __init__(self, address, classes):
        self.channel = grpc.insecure_channel(address)
        self.m = classes

    def msg(self, name, value):
        return json_format.ParseDict(value, self.m["metronome.v1." + name]())

    def unary(self, service, method, request_type, response_type, request):
        call = self.channel.unary_unary(
            "/metronome.v1.%s/%s" % (service, method),
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.m["metronome.v1." + response_type].FromString,
        )
        return json_format.MessageToDict(call(self.msg(request_type, request), timeout=10))

    def subscribe(self, request):
        call = self.channel.unary_stream(
            "/metronome.v1.EventService/Subscribe",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.m["metronome.v1.SubscribeResponse"].FromString,
        )
        return call(self.msg("SubscribeRequest", request))

    def session(self, requests):
        call = self.channel.stream_stream(
            "/metronome.v1.WorkerService/Session",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.m["metronome.v1.SessionResponse"].FromString,
        )
        return call(self.msg("SessionRequest", r) for r in requests)


def main():
    address, descriptors = sys.argv[1], sys.argv[2]
    api = Metronome(address, load_messages(descriptors))
    job_id, handler = "python-job", "python.echo"
    args, kwargs = ["hello", 21, 2**40], {"from": "python", "count": 3}

    # 1. Listen to the job's events (from now), in the background.
    events = queue.Queue()
    stream = api.subscribe({"filter": {"jobIds": [job_id]}, "fromNow": True})
    live = threading.Event()

    def read_events():
        try:
            for message in stream:
                live.set()
                for event in message.events:
                    events.put(json_format.MessageToDict(event))
        except grpc.RpcError:
            pass  # cancelled at the end

    threading.Thread(target=read_events, daemon=True).start()
    if not live.wait(10):
        raise SystemExit("the event stream did not start")

    # 2. Add a job and run it now.
    added = api.unary(
        "JobService", "AddJob", "AddJobRequest", "AddJobResponse",
        {
            "job": {
                "id": job_id,
                "handler": handler,
                "trigger": {"interval": {"hours": 1}},
                "argsJson": json.dumps(args),
                "kwargsJson": json.dumps(kwargs),
            },
            "conflictPolicy": "CONFLICT_POLICY_REPLACE",
        },
    )
    run = api.unary(
        "JobService", "RunJobNow", "RunJobNowRequest", "RunJobNowResponse", {"jobId": job_id}
    )["run"]

    # 3. Be the worker for the handler: hello, take the assignment, report the result.
    outbox = queue.Queue()
    outbox.put({
        "hello": {
            "workerId": "python-worker",
            "handlers": [{"handler": handler, "maxConcurrency": 1}],
            "maxConcurrency": 1,
            "labels": {"language": "python"},
        }
    })

    def requests():
        while True:
            item = outbox.get()
            if item is None:
                return
            yield item

    responses = api.session(requests())
    executed_result = None
    for response in responses:
        r = json_format.MessageToDict(response)
        if "assignment" in r:
            a = r["assignment"]
            result = {"echo": json.loads(a["argsJson"]), "kwargs": json.loads(a["kwargsJson"])}
            outbox.put({
                "result": {"lease": a["lease"], "success": {"resultJson": json.dumps(result)}}
            })
            executed_result = result
        elif "resultAccepted" in r:
            outbox.put(None)  # done: close our side; the server ends the session
        elif "resultRejected" in r:
            raise SystemExit("result rejected: %s" % r)

    # 4. The events of the run, in order: at risk (no worker when it was requested), submitted to
    #    this worker, then executed.
    seen = []
    while len(seen) < 3:
        e = events.get(timeout=10)
        if e.get("runId") == run["runId"]:
            seen.append(e)
    stream.cancel()

    types = [e["type"] for e in seen]
    result = json.loads(seen[2].get("resultJson", "null"))
    expected = {"echo": args, "kwargs": kwargs}
    ok = (
        added["outcome"] in ("ADD_JOB_OUTCOME_CREATED", "ADD_JOB_OUTCOME_REPLACED")
        and json.loads(added["job"]["argsJson"]) == args
        and added["job"].get("workerCount", 0) == 0
        and types == [
            "EVENT_TYPE_JOB_AT_RISK", "EVENT_TYPE_JOB_SUBMITTED", "EVENT_TYPE_JOB_EXECUTED"
        ]
        and seen[0].get("reason") == "no connected worker serves the handler"
        and seen[1].get("workerId") == "python-worker"
        and executed_result == expected
        and result == expected
        # 21 == 21.0 in Python: compare the types too, integers must stay integers.
        and [type(x) for x in executed_result["echo"]] == [str, int, int]
        and [type(x) for x in result["echo"]] == [str, int, int]
    )
    print(json.dumps({
        "ok": ok,
        "job": added["job"]["id"],
        "run": run["runId"],
        "events": types,
        "result": result,
    }))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
