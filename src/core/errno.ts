/**
 * One errno table for the whole house. The addon returns -errno on failure, so the values to
 * compare with are negative: E_AGAIN is -EAGAIN, taken once from the platform's own numbers
 * (os.constants.errno: Linux and macOS differ). strerror() gives glibc's wording, which HAProxy
 * prints (in bind errors, check descriptions) and Node's libuv messages do not match.
 */
import * as os from "node:os";
import * as util from "node:util";

const E = os.constants.errno;

export const E_AGAIN = -E.EAGAIN;
export const E_INTR = -E.EINTR;
export const E_INVAL = -E.EINVAL;
export const E_BADF = -E.EBADF;
export const E_NOSYS = -E.ENOSYS;
export const E_NFILE = -E.ENFILE;
export const E_MFILE = -E.EMFILE;
export const E_NOBUFS = -E.ENOBUFS;
export const E_NOMEM = -E.ENOMEM;
export const E_NOTCONN = -E.ENOTCONN;
export const E_ISCONN = -E.EISCONN;
export const E_ALREADY = -E.EALREADY;
export const E_INPROGRESS = -E.EINPROGRESS;
export const E_CONNABORTED = -E.ECONNABORTED;
export const E_ADDRINUSE = -E.EADDRINUSE;
export const E_ADDRNOTAVAIL = -E.EADDRNOTAVAIL;
export const E_TIMEDOUT = -E.ETIMEDOUT;

/** glibc's strerror() texts for the errors HAProxy prints (Node only knows libuv's wording). */
const STRERROR: Record<number, string> = {
  [E.ECONNREFUSED]: "Connection refused",
  [E.ETIMEDOUT]: "Connection timed out",
  [E.EHOSTUNREACH]: "No route to host",
  [E.ENETUNREACH]: "Network is unreachable",
  [E.ECONNRESET]: "Connection reset by peer",
  [E.ECONNABORTED]: "Software caused connection abort",
  [E.EACCES]: "Permission denied",
  [E.EPERM]: "Operation not permitted",
  [E.EADDRNOTAVAIL]: "Cannot assign requested address",
  [E.EADDRINUSE]: "Address already in use",
  [E.EAFNOSUPPORT]: "Address family not supported by protocol",
  [E.ENOENT]: "No such file or directory",
  [E.EMFILE]: "Too many open files",
  [E.ENFILE]: "Too many open files in system",
  [E.ENOBUFS]: "No buffer space available",
  [E.ENOMEM]: "Cannot allocate memory",
  [E.EPIPE]: "Broken pipe",
  [E.EAGAIN]: "Resource temporarily unavailable",
};

/** strerror(<errno>), a positive errno: glibc's text, else Node's capitalised, else "Unknown error N". */
export function strerror(errno: number): string {
  const t = STRERROR[errno];
  if (t !== undefined) return t;
  const m = util.getSystemErrorMap().get(-errno);
  return m ? m[1].charAt(0).toUpperCase() + m[1].slice(1) : `Unknown error ${errno}`;
}
