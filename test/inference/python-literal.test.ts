import { describe, expect, it } from 'vitest';
import { parseUltralyticsMetadata, readOnnxMetadataProps } from '../../inference/onnx-metadata.js';
import { PythonLiteralError, parsePythonLiteral } from '../../inference/python-literal.js';
import { buildOnnxModel } from './support/onnx-builder.js';

describe('parsePythonLiteral', () => {
  it('parses dicts with int keys and quoted names, including escapes and the other quote', () => {
    const value = parsePythonLiteral(
      `{0: 'person', 1: 'bi\\'cycle', 2: "lack of 'fusion'", 3: 'a\\\\b', 4: 'caf\\xe9'}`,
    );
    expect(value).toEqual(
      new Map<number, string>([
        [0, 'person'],
        [1, "bi'cycle"],
        [2, "lack of 'fusion'"],
        [3, 'a\\b'],
        [4, 'café'],
      ]),
    );
  });

  it('parses lists, tuples, numbers, booleans and None, with trailing commas and spaces', () => {
    expect(parsePythonLiteral(' [640, 640] ')).toEqual([640, 640]);
    expect(parsePythonLiteral('(1, -2.5, 1e-3, True, False, None,)')).toEqual([1, -2.5, 0.001, true, false, null]);
    expect(parsePythonLiteral("{'nms': True, 'conf': 0.25, 'imgsz': [640, 480]}")).toEqual(
      new Map<string, unknown>([
        ['nms', true],
        ['conf', 0.25],
        ['imgsz', [640, 480]],
      ]),
    );
    expect(parsePythonLiteral('{}')).toEqual(new Map());
  });

  it('refuses anything that is not a literal instead of evaluating it', () => {
    for (const text of ["__import__('os')", '{0: ', "'unterminated", '[1 2]', 'lambda: 1', '{[1]: 2}', '1 2', '']) {
      expect(() => parsePythonLiteral(text), text).toThrow(PythonLiteralError);
    }
  });
});

describe('Ultralytics metadata', () => {
  it('reads metadata_props from the ONNX bytes and interprets the Python reprs', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', elemType: 'float32', dims: [1] }],
      outputs: [{ name: 'y', elemType: 'float32', dims: [1] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
      metadata: {
        description: 'Ultralytics YOLO11n model trained on coco.yaml',
        task: 'detect',
        stride: '32',
        batch: '1',
        imgsz: '[640, 640]',
        names: "{1: 'bicycle', 0: 'person', 2: 'o\\'clock'}",
        args: "{'batch': 1, 'half': False, 'nms': False}",
      },
    });
    const props = readOnnxMetadataProps(bytes);
    expect(props.get('imgsz')).toBe('[640, 640]');
    expect(parseUltralyticsMetadata(props)).toEqual({
      task: 'detect',
      description: 'Ultralytics YOLO11n model trained on coco.yaml',
      author: undefined,
      version: undefined,
      stride: 32,
      batch: 1,
      imgsz: [640, 640],
      names: ['person', 'bicycle', "o'clock"],
      nms: false,
    });
  });

  it('refuses class ids that are not 0..n-1 and malformed sizes', () => {
    const bad = (key: string, value: string) => () => parseUltralyticsMetadata(new Map([[key, value]]));
    expect(bad('names', "{0: 'a', 2: 'b'}")).toThrow(/class ids must be 0..1/);
    expect(bad('names', "{0: 'a', '0': 'b'}")).toThrow(/appears twice/);
    expect(bad('imgsz', '[640, -1]')).toThrow(/imgsz/);
    expect(bad('names', "{0: 'a'")).toThrow(/names/);
    expect(parseUltralyticsMetadata(new Map([['imgsz', '320']])).imgsz).toEqual([320, 320]);
  });
});
