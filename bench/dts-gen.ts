// A generated device-tree source for the DTS compiler benchmark: an SoC with thousands of devices, labels,
// phandle and path references, expressions, byte strings, and `&label { }` overrides at the end.

export function generatedSource(targetBytes = 2 << 20): string {
  const out: string[] = [
    '/dts-v1/;\n\n/memreserve/ 0x80000000 0x100000;\n\n/ {\n',
    '\tcompatible = "gunyah-ts,bench";\n\tmodel = "generated";\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n\n',
    '\tgic: interrupt-controller@8000000 {\n\t\tcompatible = "arm,gic-v3";\n\t\t#interrupt-cells = <3>;\n',
    '\t\tinterrupt-controller;\n\t\treg = <0x0 0x8000000 0x0 0x10000>, <0x0 0x80a0000 0x0 0xf60000>;\n\t};\n\n',
  ];
  for (let c = 0; c < 50; c++) {
    out.push(`\tclk${c}: clock-${c} {\n\t\tcompatible = "fixed-clock";\n\t\t#clock-cells = <1>;\n\t\tclock-frequency = <${24000000 + c * 1000}>;\n\t};\n`);
  }
  out.push('\n\tsoc {\n\t\tcompatible = "simple-bus";\n\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n\t\tranges;\n\n');
  let size = out.reduce((n, s) => n + s.length, 0);
  const overrides: string[] = [];
  for (let i = 0; size < targetBytes; i++) {
    const addr = (0x10000000 + i * 0x1000).toString(16);
    const dev = [
      `\t\t/* device ${i} */\n`,
      `\t\tdev${i}: device@${addr} {\n`,
      `\t\t\tcompatible = "vendor,device-${i % 20}", "vendor,generic";\n`,
      `\t\t\treg = <0x0 0x${addr} 0x0 (0x1000 * ${1 + (i % 4)})>;\n`,
      `\t\t\tinterrupts = <0 ${i % 988} 4>, <0 (${i % 900} + 32) 1>;\n`,
      '\t\t\tinterrupt-parent = <&gic>;\n',
      `\t\t\tclocks = <&clk${i % 50} ${i % 8}>, <&clk${(i * 7) % 50} 0>;\n`,
      '\t\t\tclock-names = "core", "bus";\n',
      `\t\t\tmac-address = [02 00 00 ${(i >> 8) & 0xff ? ((i >> 8) & 0xff).toString(16).padStart(2, '0') : '00'} ${(i & 0xff).toString(16).padStart(2, '0')} 01];\n`,
      `\t\t\tfifo-depth = /bits/ 16 <${i % 4096} 0x${(i % 256).toString(16)}>;\n`,
      i > 0 ? `\t\t\tpeer = <&dev${i - 1}>;\n\t\t\tpeer-path = &dev${i - 1};\n` : '',
      '\t\t\tstatus = "okay";\n',
      i % 10 === 0 ? `\t\t\tchannel-0 {\n\t\t\t\towner = <&dev${i}>;\n\t\t\t\tlabel = "ch0";\n\t\t\t};\n` : '',
      '\t\t};\n\n',
    ].join('');
    out.push(dev);
    size += dev.length;
    if (i % 25 === 0) {
      const o = `&dev${i} {\n\tstatus = "disabled";\n\textra-${i} = <${i}>;\n};\n\n`;
      overrides.push(o);
      size += o.length;
    }
  }
  out.push('\t};\n};\n\n');
  for (const o of overrides) out.push(o);
  return out.join('');
}
