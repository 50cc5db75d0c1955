import os

from netmiko import ConfigInvalidException, ConnectHandler

device = {
    "device_type": "cisco_ios",
    "host": os.environ["DUT_HOST"],
    "port": int(os.environ["DUT_PORT"]),
    "username": os.environ["DUT_USER"],
    "password": os.environ["DUT_PASS"],
    "secret": os.environ["DUT_SECRET"],
    "session_log": os.environ["SESSION_LOG"],
}

commands = ["interface GigabitEthernet0/1", "description uplink to core", "exit", "logging buffered 20000"]

with ConnectHandler(**device) as net_connect:
    output = net_connect.send_config_set(commands)
    output += net_connect.save_config()
    print(output)
    print("config mode after:", net_connect.check_config_mode())

    # Lines from a file, and a rejected line: netmiko returns the device's answer...
    with open(os.environ["CONFIG_FILE"], "w") as f:
        f.write("interface GigabitEthernet0/2\nshutdown\n")
    print(net_connect.send_config_from_file(config_file=os.environ["CONFIG_FILE"]))
    print(net_connect.send_config_set(["bogus line"]))
    # ... unless error_pattern asks it to raise.
    try:
        net_connect.send_config_set(["bogus line"], error_pattern=r"% Invalid")
    except ConfigInvalidException as e:
        print("ConfigInvalidException raised")

    net_connect.config_mode()
    print(net_connect.find_prompt(), net_connect.check_config_mode())
    net_connect.exit_config_mode()
    print(net_connect.find_prompt(), net_connect.check_config_mode())
