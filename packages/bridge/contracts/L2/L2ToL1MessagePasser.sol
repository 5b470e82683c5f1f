// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {Hashing} from "../lib/Hashing.sol";
import {Types} from "../lib/Types.sol";

/// @title L2ToL1MessagePasser
/// @notice Predeploy at 0x4200000000000000000000000000000000000016 (in genesis). Records every
///         withdrawal's hash in `sentMessages` — storage slot 0, the mapping the Portal's proofs
///         and viem's `buildProveWithdrawal` read — and burns the withdrawn OPEN in the same call,
///         so L2 supply shrinks the moment a withdrawal starts. Interface of the OP Stack contract.
contract L2ToL1MessagePasser {
    /// @notice Gas limit of a withdrawal started by a plain transfer to this contract.
    uint256 public constant RECEIVE_DEFAULT_GAS_LIMIT = 100_000;

    /// @notice Version stored in the top two bytes of `messageNonce()`.
    uint16 public constant MESSAGE_VERSION = 1;

    /// @notice Withdrawal hashes sent (slot 0: the layout is part of the protocol).
    mapping(bytes32 => bool) public sentMessages;

    /// @notice Withdrawals sent so far (slot 1).
    uint240 internal msgNonce;

    event MessagePassed(
        uint256 indexed nonce,
        address indexed sender,
        address indexed target,
        uint256 value,
        uint256 gasLimit,
        bytes data,
        bytes32 withdrawalHash
    );

    event WithdrawerBalanceBurnt(uint256 indexed amount);

    string public constant version = "1.1.0";

    receive() external payable {
        initiateWithdrawal(msg.sender, RECEIVE_DEFAULT_GAS_LIMIT, bytes(""));
    }

    /// @notice Burns whatever OPEN this contract holds (only OPEN forced in by SELFDESTRUCT can be
    ///         here: withdrawals burn theirs immediately).
    function burn() external {
        uint256 balance = address(this).balance;
        _burn(balance);
        emit WithdrawerBalanceBurnt(balance);
    }

    /// @notice Starts a withdrawal of `msg.value` OPEN to `_target` on L1, with an optional L1 call.
    function initiateWithdrawal(address _target, uint256 _gasLimit, bytes memory _data) public payable {
        uint256 nonce = messageNonce();
        bytes32 withdrawalHash = Hashing.hashWithdrawal(
            Types.WithdrawalTransaction({
                nonce: nonce,
                sender: msg.sender,
                target: _target,
                value: msg.value,
                gasLimit: _gasLimit,
                data: _data
            })
        );
        sentMessages[withdrawalHash] = true;
        emit MessagePassed(nonce, msg.sender, _target, msg.value, _gasLimit, _data, withdrawalHash);
        unchecked {
            ++msgNonce;
        }
        _burn(msg.value);
    }

    /// @notice Next withdrawal's nonce, with MESSAGE_VERSION in its top two bytes.
    function messageNonce() public view returns (uint256) {
        return (uint256(MESSAGE_VERSION) << 240) | uint256(msgNonce);
    }

    function _burn(uint256 _amount) internal {
        // A contract created and self-destructed in one transaction takes its balance with it
        // (EIP-6780): the OPEN leaves the supply instead of sitting at an address.
        if (_amount > 0) new Burner{value: _amount}();
    }
}

/// @notice Destroys the OPEN it is created with.
contract Burner {
    constructor() payable {
        selfdestruct(payable(address(this)));
    }
}
