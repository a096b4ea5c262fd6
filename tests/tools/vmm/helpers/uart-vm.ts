// The VM description the PL011 tests share: the bare-metal uart guest (examples/guests/uart) with
// one PL011 at 0x9000000 as its console, as a DTS a user would write.
import { parseVmDescriptionSource, type VmDescription } from '../../../../tools/vmm';

export const UART_SERIAL = 'serial@9000000';

export interface UartVmOptions {
  placement?: string;
  bootargs?: string;
  compatible?: string;
  size?: number;
  /** More properties of the serial node (e.g. `native-app = "x.img";`). */
  serialProps?: string;
}

export function uartVm(o: UartVmOptions = {}): VmDescription {
  const dts = `/dts-v1/;
/ {
    compatible = "gunyah-ts,vm";
    model = "uart-vm";
    image = "builtin:uart";
    memory-size = <0x0 0x1000000>;
    console = "pl011";
    ${o.bootargs ? `bootargs = "${o.bootargs}";` : ''}
    #address-cells = <2>;
    #size-cells = <2>;
    ${UART_SERIAL} {
        compatible = ${o.compatible ?? '"arm,pl011", "arm,primecell"'};
        reg = <0x0 0x9000000 0x0 ${o.size ?? 0x1000}>;
        ${o.placement ? `placement = "${o.placement}";` : ''}
        ${o.serialProps ?? ''}
    };
};
`;
  return parseVmDescriptionSource(new TextEncoder().encode(dts), 'uart-vm.dts').descriptions[0]!;
}
