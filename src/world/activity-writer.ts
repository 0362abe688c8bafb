// A rank's side of the activity channel (launch/activity.ts): each activity written synchronously to the
// pipe its launcher gave it, so a crash an instant after setActivity cannot lose the text.
import fs from 'node:fs';
import { readEnv } from '../env';

export interface ActivityWriter {
  write(activity: string): void;
}

/** The channel named by JOULE_ACTIVITY_FD, or undefined without one (bare srun, a script run alone). */
export function openActivityWriter(env: NodeJS.ProcessEnv = process.env): ActivityWriter | undefined {
  const fd = readEnv('JOULE_ACTIVITY_FD', env);
  if (fd === undefined) return undefined;
  try {
    // A wrapper may have closed the pipe and the number been reused: write only into a pipe or socket.
    const stat = fs.fstatSync(fd);
    if (!stat.isFIFO() && !stat.isSocket()) return undefined;
  } catch {
    return undefined;
  }
  return {
    write(activity) {
      try {
        fs.writeSync(fd, `${JSON.stringify(activity)}\n`);
      } catch {
        // The launcher went away: the coordinator connection still carries the activity.
      }
    },
  };
}
