/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's ttrpc service (lib/proto/agent.proto). */
#ifndef HULL_AGENT_SERVICE_H
#define HULL_AGENT_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "agent.h"

#define AGENT_SERVICE "hull.agent.v1.Agent"

struct ttrpc_server;
struct ttrpc_response;

int agent_service_new(struct agent *a, struct ttrpc_server **out, struct err **err);
/* Unpack the request of method and check its ids; *out is freed with
 * protobuf_c_message_free_unpacked. -EOPNOTSUPP for an unknown method. */
int agent_service_decode(const char *method, const uint8_t *buf, size_t len, ProtobufCMessage **out,
			 struct err **err);
/* service_query.c: ListProcesses, StatsContainer, UpdateContainer, GetOOMEvent. */
int agent_service_query(struct agent *a, const char *method, ProtobufCMessage *m,
			struct ttrpc_response *resp, int64_t timeout_nano);

#endif
