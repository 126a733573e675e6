// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's request decoding: what a (possibly compromised) host sends.
 * Input: byte 0 picks the method, the rest is the protobuf payload. A
 * CreateContainer/ExecProcess that decodes has its JSON parsed as the agent
 * would; every input is also tried as a stdio header line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest-agent/agent.h"
#include "../../guest-agent/service.h"
#include "lib/proto/agent.pb-c.h"
#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *methods[] = {
    "Ping",
    "CreateContainer",
    "StartContainer",
    "ExecProcess",
    "SignalProcess",
    "WaitProcess",
    "CloseStdin",
    "ResizeTty",
    "ListProcesses",
    "StatsContainer",
    "UpdateContainer",
    "PauseContainer",
    "ResumeContainer",
    "RemoveContainer",
    "GetOOMEvent",
    "SetTime",
    "UpdateNetwork",
};

static void stdio_header(const uint8_t *data, size_t size)
{
	char line[512];
	size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
	memcpy(line, data, n);
	line[n] = '\0';
	char *id, *exec_id;
	enum agent_stream s;
	struct err *err = NULL;
	agent_stdio_header_parse(line, &id, &exec_id, &s, &err);
	err_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	stdio_header(data, size);
	const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	ProtobufCMessage *m = NULL;
	struct err *err = NULL;
	if (agent_service_decode(method, data + 1, size - 1, &m, &err) < 0) {
		err_free(&err);
		return 0;
	}
	if (!strcmp(method, "CreateContainer")) {
		Hull__Agent__V1__CreateContainerRequest *c = (void *)m;
		struct oci_spec *spec = NULL;
		if (oci_spec_parse((const char *)c->spec_json.data, c->spec_json.len, &spec,
				   &err) == 0) {
			oci_spec_validate(spec, &err);
			oci_spec_free(spec);
		}
		err_free(&err);
	} else if (!strcmp(method, "ExecProcess")) {
		Hull__Agent__V1__ExecProcessRequest *e = (void *)m;
		struct oci_process *p = NULL;
		if (oci_process_parse((const char *)e->process_json.data, e->process_json.len, &p,
				      &err) == 0) {
			oci_process_validate(p, &err);
			oci_process_free(p);
		}
		err_free(&err);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
