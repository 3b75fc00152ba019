import { describe, expect, it } from 'vitest';
import { BboxParam, MapSubscribePayload } from './realtime.ts';

describe('BboxParam', () => {
  it('reads minLng,minLat,maxLng,maxLat, spaces allowed', () => {
    expect(BboxParam.parse('-9.20, 38.69,-9.10 ,38.76')).toEqual({
      minLng: -9.2,
      minLat: 38.69,
      maxLng: -9.1,
      maxLat: 38.76,
    });
  });

  it('accepts the world, a point, and a box across the antimeridian', () => {
    expect(BboxParam.safeParse('-180,-90,180,90').success).toBe(true);
    expect(BboxParam.safeParse('0,0,0,0').success).toBe(true);
    expect(BboxParam.parse('170,-10,-170,10')).toMatchObject({ minLng: 170, maxLng: -170 });
  });

  it('refuses anything else', () => {
    for (const bad of [
      '',
      'x',
      '1,2,3',
      '1,2,3,4,5',
      '0,0,1,a',
      // Empty parts are missing, not zero.
      '0,0,1,',
      ' , , , ',
      ',,,',
      'Infinity,0,1,1',
      '-181,0,1,1',
      '0,0,181,1',
      '0,-91,1,1',
      '0,0,1,91',
      '0,10,1,5',
      `0,0,1,1${' '.repeat(200)}`,
    ]) {
      expect(BboxParam.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('MapSubscribePayload', () => {
  it('takes the box as a string or as four numbers', () => {
    const asArray = MapSubscribePayload.parse({ bbox: [-8.7, 41.1, -8.5, 41.2], zoom: 12 });
    const asString = MapSubscribePayload.parse({ bbox: '-8.7,41.1,-8.5,41.2', zoom: 12 });
    expect(asArray).toEqual(asString);
    expect(asArray.bbox).toEqual({ minLng: -8.7, minLat: 41.1, maxLng: -8.5, maxLat: 41.2 });
  });

  it('refuses what the gateway answers with validation_failed', () => {
    for (const payload of [
      {},
      { bbox: 'x', zoom: 3 },
      { bbox: [1, 2, 3], zoom: 3 },
      { bbox: '0,0,1,1', zoom: 'far' },
      { bbox: '0,0,1,1', zoom: 3, extra: true },
      null,
    ]) {
      expect(MapSubscribePayload.safeParse(payload).success, JSON.stringify(payload)).toBe(false);
    }
  });
});
