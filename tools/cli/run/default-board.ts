// The board `gunyah run` boots when given none: four Cortex-A57s, 2 GiB of RAM at 1 GiB (16 MiB of it
// kept for the RM), and three secondary VMs running bundled guests. Kept as DTS source so it reads
// like a board file a person would write (ARCHITECTURE.md "Board and VM descriptions").

export const DEFAULT_BOARD_NAME = '<default board>';

export const DEFAULT_BOARD_DTS = `/dts-v1/;
/ {
    compatible = "gunyah-ts,board";
    model = "gunyah-ts default board";
    #address-cells = <2>;
    #size-cells = <2>;

    cpus {
        #address-cells = <1>;
        #size-cells = <0>;
        cpu@0 { device_type = "cpu"; compatible = "arm,cortex-a57"; reg = <0>; };
        cpu@1 { device_type = "cpu"; compatible = "arm,cortex-a57"; reg = <1>; };
        cpu@2 { device_type = "cpu"; compatible = "arm,cortex-a57"; reg = <2>; };
        cpu@3 { device_type = "cpu"; compatible = "arm,cortex-a57"; reg = <3>; };
    };

    memory@40000000 {
        device_type = "memory";
        reg = <0x0 0x40000000 0x0 0x80000000>;
    };

    hypervisor {
        compatible = "gunyah-ts,hypervisor";
        seed = <1>;
        rm-memory-size = <0x0 0x1000000>;
    };

    vms {
        alpha {
            compatible = "gunyah-ts,vm";
            image = "builtin:hello";
            memory-size = <0x0 0x2000000>;
            vcpus = <4>;
            console = "rm";
        };

        beta {
            compatible = "gunyah-ts,vm";
            image = "builtin:hello";
            memory-size = <0x0 0x2000000>;
            vcpus = <2>;
            console = "rm";
        };

        gamma {
            compatible = "gunyah-ts,vm";
            image = "builtin:uart";
            memory-size = <0x0 0x1000000>;
            vcpus = <1>;
            console = "pl011";
            #address-cells = <2>;
            #size-cells = <2>;

            serial@9000000 {
                compatible = "arm,pl011", "arm,primecell";
                reg = <0x0 0x9000000 0x0 0x1000>;
                placement = "vmm";
            };
        };
    };
};
`;
