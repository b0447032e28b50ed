/**
 * The stats socket's agent commands: `set server <b>/<s> agent up|down`, `set server <b>/<s>
 * agent-addr <ip>`, `set server <b>/<s> agent-send <string>` (HAProxy 1.8: the matching branches of
 * cli_parse_set_server(), src/server.c) and `enable|disable agent <b>/<s>` (cli_parse_enable_agent(),
 * cli_parse_disable_agent()), with 1.8's answers.
 */
import { isIP } from "node:net";
import { CHK_ST_ENABLED } from "../proxy/check-t";
import { checkSetRequest, setCheckAddr } from "../proxy/checks";
import { srvSetRunning, srvSetStopped } from "../proxy/server_state";
import { type Server } from "../proxy/server";

const NOT_ENABLED = "agent checks are not enabled on this server.\n";

/** `set server <b>/<s> agent|agent-addr|agent-send <arg>`. Returns the answer ("" when none). */
export function cliSetServerAgent(sv: Server, what: string, arg: string | undefined): string {
  const agent = sv.agent;
  if (agent === null || !(agent.state & CHK_ST_ENABLED)) return NOT_ENABLED;
  if (what === "agent") {
    if (arg === "up") {
      agent.health = agent.rise + agent.fall - 1;
      srvSetRunning(sv, "changed from CLI", null);
    } else if (arg === "down") {
      agent.health = 0;
      srvSetStopped(sv, "changed from CLI", null);
    } else return "'set server <srv> agent' expects 'up' or 'down'.\n";
    return "";
  }
  if (what === "agent-addr") {
    // 1.8's str2ip() would also resolve a name; hapoll takes a numeric address.
    if (!arg || !isIP(arg)) return "incorrect addr address given for agent.\n";
    sv.cfg.agentAddr = arg;
    setCheckAddr(agent, sv);
    return "";
  }
  // agent-send: the next checks send the new string.
  sv.cfg.agentSend = arg ?? "";
  checkSetRequest(agent, Buffer.from(sv.cfg.agentSend, "latin1"));
  return "";
}

/** `enable|disable agent <b>/<s>`. Returns the answer ("" when none). */
export function cliEnableAgent(sv: Server, enable: boolean): string {
  if (!enable) {
    if (sv.agent !== null) sv.agent.state &= ~CHK_ST_ENABLED;
    return "";
  }
  if (sv.agent === null) return "Agent was not configured on this server, cannot enable.\n";
  sv.agent.state |= CHK_ST_ENABLED;
  return "";
}
