// world.power when power is off (JOULE_POWER=off): the same windows API, measuring nothing, so code that
// wraps its work in windows runs unchanged; every figure says so (no energy, no source).
import { monotonicS } from './monitor';
import type { PowerWindows, WindowResult } from './types';

export function powerOffWindows(): PowerWindows {
  const stack: { name: string; path: string; startS: number }[] = [];
  const close = (): WindowResult => {
    const open = stack.pop();
    const endS = monotonicS();
    const startS = open?.startS ?? endS;
    return {
      name: open?.name ?? '',
      path: open?.path ?? '',
      depth: stack.length,
      startS,
      endS,
      durationS: endS - startS,
      energyJ: null,
      modelEnergyJ: null,
      bySource: {},
      meanPowerW: 0,
      peakPowerW: null,
      cpuTimeS: 0,
      interpolated: false,
      coverage: 0,
      figures: [],
    };
  };
  const windows: PowerWindows = {
    begin(name) {
      const parent = stack[stack.length - 1];
      stack.push({ name, path: parent ? `${parent.path}/${name}` : name, startS: monotonicS() });
    },
    end() {
      return Promise.resolve(close());
    },
    async window(name, fn) {
      windows.begin(name);
      try {
        const result = await fn();
        return { result, energy: close() };
      } catch (error) {
        close();
        throw error;
      }
    },
  };
  return windows;
}
