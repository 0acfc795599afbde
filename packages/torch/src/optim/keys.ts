// State dicts use PyTorch's snake_case keys; the JS objects they come from use camelCase.

/** 'weightDecay' → 'weight_decay'. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** 'weight_decay' → 'weightDecay'. */
export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
