// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Test contract for the end-to-end suite: state, events, custom errors and revert strings.
contract Store {
    uint256 public value;
    mapping(address => uint256) public writes;

    event Changed(address indexed by, uint256 indexed oldValue, uint256 newValue);

    error TooBig(uint256 value, uint256 max);

    constructor(uint256 initial) {
        value = initial;
    }

    function set(uint256 v) external {
        if (v > 1000) revert TooBig(v, 1000);
        require(v != 13, "unlucky number");
        emit Changed(msg.sender, value, v);
        value = v;
        writes[msg.sender] += 1;
    }

    function boom() external pure {
        assert(false);
    }

    receive() external payable {}
}
