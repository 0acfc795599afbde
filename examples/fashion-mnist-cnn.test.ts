import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './fashion-mnist-cnn.js';

test('the Fashion-MNIST CNN example reaches at least 88% test accuracy in one epoch', () => {
  const { testAccuracy, seconds } = main();
  console.log(`fashion-mnist example: test accuracy ${(testAccuracy * 100).toFixed(2)}% in ${seconds.toFixed(1)} s`);
  assert.ok(testAccuracy >= 0.88, `test accuracy ${(testAccuracy * 100).toFixed(2)}% is below 88%`);
});
