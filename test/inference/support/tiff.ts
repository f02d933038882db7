/**
 * An uncompressed greyscale TIFF with its IFD before the pixel data (as many scanners write it),
 * so cutting the file short leaves a readable header over missing strips: the truncated-TIFF shape
 * an upload must refuse.
 */
export function tiffWithLeadingIfd(width: number, height: number, bitsPerSample: 8 | 16): Buffer {
  const dataBytes = (width * height * bitsPerSample) / 8;
  const entries: [tag: number, type: 3 | 4, value: number][] = [
    [256, 3, width],
    [257, 3, height],
    [258, 3, bitsPerSample],
    [259, 3, 1], // no compression
    [262, 3, 1], // black is zero
    [273, 4, 0], // strip offset, set below
    [277, 3, 1],
    [278, 3, height],
    [279, 4, dataBytes],
  ];
  const dataOffset = 8 + 2 + entries.length * 12 + 4;
  const file = Buffer.alloc(dataOffset + dataBytes);
  file.write('II', 0, 'ascii');
  file.writeUInt16LE(42, 2);
  file.writeUInt32LE(8, 4);
  file.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const at = 10 + i * 12;
    file.writeUInt16LE(tag, at);
    file.writeUInt16LE(type, at + 2);
    file.writeUInt32LE(1, at + 4);
    const v = tag === 273 ? dataOffset : value;
    if (type === 3) file.writeUInt16LE(v, at + 8);
    else file.writeUInt32LE(v, at + 8);
  });
  for (let i = dataOffset; i < file.length; i++) file[i] = (i * 7) & 0xff;
  return file;
}
