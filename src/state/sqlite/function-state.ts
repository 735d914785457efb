/** Functions on the embedded SQLite database: the synchronous {@link FunctionRegistry} behind the async interface. */
import type { Actor } from '../../kvs/types.js';
import type { RuntimeVersion } from '../../runtime/event.js';
import type { FunctionConfigInput, FunctionStage, FunctionStageView, FunctionVersion, LiveVersion } from '../functions.js';
import type { FunctionState } from '../types.js';
import type { FunctionRegistry } from './function-registry.js';

export class SqliteFunctionState implements FunctionState {
  readonly #registry: FunctionRegistry;

  constructor(registry: FunctionRegistry) {
    this.#registry = registry;
  }

  get accountId(): string {
    return this.#registry.accountId;
  }

  functionArn(name: string): string {
    return this.#registry.functionArn(name);
  }

  setFunctionInUseCheck(check: (name: string) => boolean): void {
    this.#registry.setFunctionInUseCheck(check);
  }

  checkCode(name: string, code: string, runtime: RuntimeVersion): void {
    this.#registry.checkCode(name, code, runtime);
  }

  async create(input: { name: string; config: FunctionConfigInput; code: string }, actor: Actor): Promise<FunctionStageView> {
    return this.#registry.create(input, actor);
  }

  async update(name: string, input: { config: FunctionConfigInput; code: string }, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    return this.#registry.update(name, input, ifMatch, actor);
  }

  async publish(name: string, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    return this.#registry.publish(name, ifMatch, actor);
  }

  async rollback(name: string, version: number, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    return this.#registry.rollback(name, version, ifMatch, actor);
  }

  async delete(name: string, ifMatch: string | undefined, actor: Actor): Promise<void> {
    this.#registry.delete(name, ifMatch, actor);
  }

  async describe(name: string, stage?: FunctionStage): Promise<FunctionStageView> {
    return this.#registry.describe(name, stage);
  }

  async findStage(name: string, stage: FunctionStage): Promise<FunctionStageView | undefined> {
    return this.#registry.findStage(name, stage);
  }

  async getCode(name: string, stage?: FunctionStage): Promise<{ code: string; view: FunctionStageView }> {
    return this.#registry.getCode(name, stage);
  }

  async getCodeIfMatch(name: string, stage: FunctionStage, ifMatch: string | undefined): Promise<{ code: string; view: FunctionStageView }> {
    return this.#registry.getCodeIfMatch(name, stage, ifMatch);
  }

  async list(options?: { marker?: string; maxItems?: number; stage?: FunctionStage }): Promise<{ items: FunctionStageView[]; nextMarker?: string }> {
    return this.#registry.list(options);
  }

  async versions(name: string): Promise<FunctionVersion[]> {
    return this.#registry.versions(name);
  }

  async version(name: string, version: number): Promise<FunctionVersion & { code: string }> {
    return this.#registry.version(name, version);
  }

  async live(name: string): Promise<LiveVersion | undefined> {
    return this.#registry.live(name);
  }

  async liveNames(): Promise<string[]> {
    return this.#registry.liveNames();
  }
}
