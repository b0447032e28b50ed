/**
 * Health check states, results and statuses: the constants and the status table that checks.ts, the
 * server state changes (server_state.ts) and the stats socket share. HAProxy 2.x:
 * include/haproxy/check-t.h (1.8: include/types/checks.h) and check_statuses[] of src/checks.c.
 */

/** HAProxy: CHK_ST_* check state bits (include/types/checks.h). */
export const CHK_ST_INPROGRESS = 0x0001;
export const CHK_ST_CONFIGURED = 0x0002;
export const CHK_ST_ENABLED = 0x0004;
export const CHK_ST_PAUSED = 0x0008;
export const CHK_ST_PORT_MISS = 0x0020;

/** HAProxy: CHK_RES_* check results. */
export const CHK_RES_UNKNOWN = 0;
export const CHK_RES_NEUTRAL = 1;
export const CHK_RES_FAILED = 2;
export const CHK_RES_PASSED = 3;
export const CHK_RES_CONDPASS = 4;

/** HAProxy: HCHK_STATUS_* (enum, include/types/checks.h), in HAProxy's order. */
export const HCHK_STATUS_UNKNOWN = 0;
export const HCHK_STATUS_INI = 1;
export const HCHK_STATUS_START = 2;
export const HCHK_STATUS_CHECKED = 3;
export const HCHK_STATUS_HANA = 4;
export const HCHK_STATUS_SOCKERR = 5;
export const HCHK_STATUS_L4OK = 6;
export const HCHK_STATUS_L4TOUT = 7;
export const HCHK_STATUS_L4CON = 8;
export const HCHK_STATUS_L6OK = 9;
export const HCHK_STATUS_L6TOUT = 10;
export const HCHK_STATUS_L6RSP = 11;
export const HCHK_STATUS_L7TOUT = 12;
export const HCHK_STATUS_L7RSP = 13;
export const HCHK_STATUS_L57DATA = 14;
export const HCHK_STATUS_L7OKD = 15;
export const HCHK_STATUS_L7OKCD = 16;
export const HCHK_STATUS_L7STS = 17;

/** HAProxy: check_statuses[]: result, short info and description of each status. */
export const CHECK_STATUSES: [number, string, string][] = [
  [CHK_RES_UNKNOWN, "UNK", "Unknown"],
  [CHK_RES_UNKNOWN, "INI", "Initializing"],
  [CHK_RES_UNKNOWN, "", ""],
  [CHK_RES_NEUTRAL, "CHECKED", "No status change"],
  [CHK_RES_FAILED, "HANA", "Health analyze"],
  [CHK_RES_FAILED, "SOCKERR", "Socket error"],
  [CHK_RES_PASSED, "L4OK", "Layer4 check passed"],
  [CHK_RES_FAILED, "L4TOUT", "Layer4 timeout"],
  [CHK_RES_FAILED, "L4CON", "Layer4 connection problem"],
  [CHK_RES_PASSED, "L6OK", "Layer6 check passed"],
  [CHK_RES_FAILED, "L6TOUT", "Layer6 timeout"],
  [CHK_RES_FAILED, "L6RSP", "Layer6 invalid response"],
  [CHK_RES_FAILED, "L7TOUT", "Layer7 timeout"],
  [CHK_RES_FAILED, "L7RSP", "Layer7 invalid response"],
  [CHK_RES_UNKNOWN, "", ""],
  [CHK_RES_PASSED, "L7OK", "Layer7 check passed"],
  [CHK_RES_CONDPASS, "L7OKC", "Layer7 check conditionally passed"],
  [CHK_RES_FAILED, "L7STS", "Layer7 wrong status"],
];

/** HAProxy: get_check_status_description(). */
export function getCheckStatusDescription(status: number): string {
  const e = CHECK_STATUSES[status];
  return e !== undefined && e[2] ? e[2] : CHECK_STATUSES[HCHK_STATUS_UNKNOWN][2];
}

/** HAProxy: get_check_status_info(). */
export function getCheckStatusInfo(status: number): string {
  const e = CHECK_STATUSES[status];
  return e !== undefined && e[1] ? e[1] : CHECK_STATUSES[HCHK_STATUS_UNKNOWN][1];
}
