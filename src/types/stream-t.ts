/**
 * Stream flags and termination codes shared by every layer. HAProxy 2.x: include/haproxy/stream-t.h
 * (1.8: include/types/stream.h). The transport's connect returns SF_ERR_* codes (src/net/proto_tcp.ts),
 * the stream keeps them in its flags and the log prints them as the two termination-state letters.
 */
/** HAProxy: SF_* stream flags. */
export const SF_DIRECT = 0x00000001;
export const SF_ASSIGNED = 0x00000002;
export const SF_ADDR_SET = 0x00000004;
export const SF_BE_ASSIGNED = 0x00000008;
export const SF_FORCE_PRST = 0x00000010;
export const SF_MONITOR = 0x00000020;
export const SF_CURR_SESS = 0x00000040;
export const SF_REDISP = 0x00000100;
export const SF_ERR_NONE = 0x00000000;
export const SF_ERR_LOCAL = 0x00001000;
export const SF_ERR_CLITO = 0x00002000;
export const SF_ERR_CLICL = 0x00003000;
export const SF_ERR_SRVTO = 0x00004000;
export const SF_ERR_SRVCL = 0x00005000;
export const SF_ERR_PRXCOND = 0x00006000;
export const SF_ERR_RESOURCE = 0x00007000;
export const SF_ERR_INTERNAL = 0x00008000;
export const SF_ERR_DOWN = 0x00009000;
export const SF_ERR_KILLED = 0x0000a000;
export const SF_ERR_UP = 0x0000b000;
export const SF_ERR_MASK = 0x0000f000;
export const SF_ERR_SHIFT = 12;
export const SF_FINST_R = 0x00010000;
export const SF_FINST_C = 0x00020000;
export const SF_FINST_H = 0x00030000;
export const SF_FINST_D = 0x00040000;
export const SF_FINST_L = 0x00050000;
export const SF_FINST_Q = 0x00060000;
export const SF_FINST_T = 0x00070000;
export const SF_FINST_MASK = 0x00070000;
export const SF_FINST_SHIFT = 16;

/** HAProxy: sess_term_cond[] and sess_fin_state[] (src/log.c): the two termination-state letters. */
export const SESS_TERM_COND = "-LcCsSPRIDKUIII";
export const SESS_FIN_STATE = "-RCHDLQTIIIIIIII";
