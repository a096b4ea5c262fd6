// /dev/kmsg: each read returns one log record (EPIPE once when the reader fell behind the ring and lost
// records, EINVAL when the buffer is too small for the record); writes add records (facility LOG_USER,
// an optional "<N>" level prefix); poll reports new records.
import { Errno } from '../errno';
import { LOG_USER, formatKmsgRecord, type LogLevel, type PrintkImpl } from '../printk/printk';
import type { File, FileOperations } from './file';
import { POLL, WaitQueue, type PollTable } from './wait-queue';

interface KmsgReader {
  seq: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function kmsgFops(printk: PrintkImpl): FileOperations {
  const wq = new WaitQueue();
  printk.stream().subscribe(() => wq.wake(POLL.IN));
  return {
    owner: 'printk',
    open(_inode, file) {
      file.privateData = { seq: printk.firstSeq } satisfies KmsgReader;
    },
    async read(file: File, count: number, ctx) {
      const r = file.privateData as KmsgReader;
      while (r.seq >= printk.seqEnd) {
        if (file.nonblock) throw new Errno('EAGAIN');
        await wq.wait(ctx.signal);
      }
      if (r.seq < printk.firstSeq) {
        r.seq = printk.firstSeq;
        throw new Errno('EPIPE', 'records were overwritten before they were read');
      }
      const rec = printk.recordAt(r.seq)!;
      const bytes = enc.encode(formatKmsgRecord(rec));
      if (bytes.length > count) throw new Errno('EINVAL', `record needs ${bytes.length} bytes, buffer has ${count}`);
      r.seq++;
      return bytes;
    },
    write(_file, data) {
      let text = dec.decode(data).replace(/\n$/, '');
      let level: LogLevel = 4;
      let facility = LOG_USER;
      const m = /^<(\d+)>/.exec(text);
      if (m) {
        const prio = Number(m[1]);
        level = (prio & 7) as LogLevel;
        facility = prio >> 3 || LOG_USER;
        text = text.slice(m[0].length);
      }
      printk.log(level, text, facility);
      return data.length;
    },
    poll(file: File, pt: PollTable | undefined) {
      pt?.wait(wq);
      const r = file.privateData as KmsgReader;
      let m = POLL.OUT | POLL.WRNORM;
      if (r.seq < printk.seqEnd) m |= POLL.IN | POLL.RDNORM;
      if (r.seq < printk.firstSeq) m |= POLL.ERR | POLL.PRI;
      return m;
    },
  };
}
