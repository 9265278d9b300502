export { type ProcessContext, type ProcessRole, type RunningProcess, StartupError, exitOnSignals, runProcess, startProcessRuntime } from './run-process';
export { type InstalledRuntime, RuntimeInstallError, installTemporalRuntime, installedRuntime } from './runtime';
export { loadProcessConfig } from './process-config';
