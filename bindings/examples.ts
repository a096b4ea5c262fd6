// A binding's `examples` as complete DTS sources, ready to compile and validate.
//
// An example that is a whole tree (it starts with /dts-v1/) is used as written. Otherwise it is a
// fragment of nodes and goes, as Linux's dt-extract-example puts it, under an `example-N` node of a
// small root: 1 address and 1 size cell, and an interrupt parent with 3 interrupt cells (a GIC's
// layout, which every fragment here uses).
import type { BindingSchema } from './binding-set';

export interface ExampleSource {
  schemaId: string;
  index: number;
  /** A complete DTS source. */
  dts: string;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : by + l))
    .join('\n');
}

export function wrapExample(fragment: string, index: number): string {
  return `/dts-v1/;

/ {
    compatible = "foo";
    model = "foo";
    #address-cells = <1>;
    #size-cells = <1>;
    interrupt-parent = <&fake_intc${index}>;

    fake_intc${index}: fake-interrupt-controller {
        interrupt-controller;
        #interrupt-cells = <3>;
    };

    example-${index} {
        #address-cells = <1>;
        #size-cells = <1>;

${indent(fragment.trimEnd(), '        ')}
    };
};
`;
}

/** Each example of `schema` as DTS. */
export function exampleSources(schema: BindingSchema): ExampleSource[] {
  return schema.examples.map((text, index) => ({
    schemaId: schema.id,
    index,
    dts: /^\s*\/dts-v1\/;/.test(text) ? text : wrapExample(text, index),
  }));
}
