// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {TrieProof} from "@openzeppelin/contracts/utils/cryptography/TrieProof.sol";
import {L2OutputOracle} from "./L2OutputOracle.sol";
import {Hashing} from "../lib/Hashing.sol";
import {Types} from "../lib/Types.sol";

/// @title Portal
/// @notice L1 side of the OPEN bridge, with the OP Stack pre-fault-proof OptimismPortal's interface
///         (custom gas token flavour): OPEN is locked here by `depositERC20Transaction` and minted
///         as native OPEN on L2; withdrawals initiated on L2 are proven against an output of the
///         L2OutputOracle and released after the finalisation period.
///
///         `version()` is below 3.0.0 on purpose: viem's `op-stack` actions then take the
///         L2OutputOracle path (`getL2Output`, `provenWithdrawals(hash)`, `finalizedWithdrawals`).
///
///         Differences from the OptimismPortal: no ETH (OPEN is the L2's native asset; ETH sent
///         here is refused), no pause/guardian and no proxy; deposit gas is capped per L1 block
///         by a fixed limit instead of ResourceMetering's fee market; deposits carry no L2 call
///         (the L2 mints and transfers as system work, see the node's deposit hook); an output
///         root must be
///         version 0; a withdrawal with calldata gets its OPEN and its call in one all-or-nothing
///         step (a failed call keeps the OPEN here, as a failed call keeps ETH in the OP portal).
contract Portal {
    using SafeERC20 for IERC20;

    struct ProvenWithdrawal {
        bytes32 outputRoot;
        uint128 timestamp;
        uint128 l2OutputIndex;
    }

    /// @notice Version of the TransactionDeposited event encoding.
    uint256 internal constant DEPOSIT_VERSION = 0;

    /// @notice `l2Sender` outside of a finalisation.
    address internal constant DEFAULT_L2_SENDER = 0x000000000000000000000000000000000000dEaD;

    /// @notice Gas kept for the token transfer and bookkeeping around a relayed call.
    uint256 internal constant RELAY_RESERVE_GAS = 80_000;

    L2OutputOracle public immutable L2_ORACLE;
    IERC20 public immutable token;
    /// @notice L2 gas all deposits of one L1 block may ask for in total. Every L2 block can apply
    ///         the deposits of at least one L1 block, so derivation never stalls on a full L1 block.
    uint64 public immutable maxDepositGasPerBlock;

    address public l2Sender;
    mapping(bytes32 => bool) public finalizedWithdrawals;
    mapping(bytes32 => ProvenWithdrawal) public provenWithdrawals;

    /// @notice L2 gas bought by deposits in `depositGasBlock`.
    uint64 public depositGasUsed;
    uint64 public depositGasBlock;
    /// @notice Running totals (wei of OPEN): minted on L2 by deposits, released by finalisations.
    uint256 public totalDeposited;
    uint256 public totalReleased;

    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);
    event WithdrawalProven(bytes32 indexed withdrawalHash, address indexed from, address indexed to);
    event WithdrawalFinalized(bytes32 indexed withdrawalHash, bool success);

    string public constant version = "2.8.0";

    constructor(L2OutputOracle _oracle, IERC20 _token, uint64 _maxDepositGasPerBlock) {
        require(_maxDepositGasPerBlock >= 21_000, "Portal: deposit gas limit too small");
        L2_ORACLE = _oracle;
        token = _token;
        maxDepositGasPerBlock = _maxDepositGasPerBlock;
        l2Sender = DEFAULT_L2_SENDER;
    }

    function l2Oracle() external view returns (L2OutputOracle) {
        return L2_ORACLE;
    }

    /// @notice The L2's native asset (OP Stack custom-gas-token getter).
    function gasPayingToken() external view returns (address addr_, uint8 decimals_) {
        return (address(token), 18);
    }

    /// @notice Smallest gas limit a deposit with `_byteCount` bytes of calldata may ask for.
    function minimumGasLimit(uint64 _byteCount) public pure returns (uint64) {
        return _byteCount * 16 + 21_000;
    }

    receive() external payable {
        revert("Portal: ETH is not accepted; OPEN is deposited with depositERC20Transaction");
    }

    /// @notice ETH deposits do not exist on this chain; a message-only deposit (no ETH) is allowed.
    function depositTransaction(address _to, uint256 _value, uint64 _gasLimit, bool _isCreation, bytes memory _data)
        external
        payable
    {
        require(msg.value == 0, "Portal: ETH is not accepted; OPEN is deposited with depositERC20Transaction");
        _deposit(_to, 0, _value, _gasLimit, _isCreation, _data);
    }

    /// @notice Locks `_mint` OPEN (after `approve`) and emits the deposit that mints it on L2 to the
    ///         sender (aliased when a contract) and then moves `_value` of the sender's L2 OPEN to
    ///         `_to` (a balance transfer: no L2 code runs). `_gasLimit` (≥ 21000) counts against the
    ///         per-L1-block deposit budget; `_isCreation` must be false and `_data` empty.
    function depositERC20Transaction(
        address _to,
        uint256 _mint,
        uint256 _value,
        uint64 _gasLimit,
        bool _isCreation,
        bytes memory _data
    ) external {
        if (_mint > 0) {
            uint256 before = token.balanceOf(address(this));
            token.safeTransferFrom(msg.sender, address(this), _mint);
            require(token.balanceOf(address(this)) - before == _mint, "Portal: token transfer amount mismatch");
            totalDeposited += _mint;
        }
        _deposit(_to, _mint, _value, _gasLimit, _isCreation, _data);
    }

    function _deposit(address _to, uint256 _mint, uint256 _value, uint64 _gasLimit, bool _isCreation, bytes memory _data)
        internal
    {
        // The L2 applies deposits as system work (mint, then a plain value transfer): no EVM call
        // runs, so calldata and contract creation are refused here rather than dropped there.
        require(!_isCreation && _data.length == 0, "Portal: deposits carry no L2 call (empty data, no creation)");
        require(_gasLimit >= minimumGasLimit(uint64(_data.length)), "Portal: gas limit too small");
        require(_mint < 2 ** 128 && _value < 2 ** 128, "Portal: amount too large");

        // Per-L1-block budget of L2 deposit gas.
        uint64 used = depositGasBlock == uint64(block.number) ? depositGasUsed : 0;
        require(uint256(used) + _gasLimit <= maxDepositGasPerBlock, "Portal: deposit gas limit for this L1 block exceeded");
        depositGasUsed = used + _gasLimit;
        depositGasBlock = uint64(block.number);

        address from = msg.sender;
        // A contract's address is aliased (OP Stack rule): its L2 twin is not the same owner.
        if (msg.sender != tx.origin) {
            unchecked {
                from = address(uint160(msg.sender) + uint160(0x1111000000000000000000000000000000001111));
            }
        }
        emit TransactionDeposited(
            from, _to, DEPOSIT_VERSION, abi.encodePacked(_mint, _value, _gasLimit, _isCreation, _data)
        );
    }

    /// @notice Proves that a withdrawal was initiated on L2: its hash is set in the message passer's
    ///         `sentMessages` (slot 0 mapping) under the output at `_l2OutputIndex`.
    function proveWithdrawalTransaction(
        Types.WithdrawalTransaction memory _tx,
        uint256 _l2OutputIndex,
        Types.OutputRootProof calldata _outputRootProof,
        bytes[] calldata _withdrawalProof
    ) external {
        require(_tx.target != address(this), "Portal: you cannot send messages to the portal contract");
        require(_tx.target != address(token), "Portal: you cannot send messages to the token contract");
        require(_outputRootProof.version == Hashing.OUTPUT_VERSION_V0, "Portal: unsupported output root version");

        bytes32 outputRoot = L2_ORACLE.getL2Output(_l2OutputIndex).outputRoot;
        require(outputRoot == Hashing.hashOutputRootProof(_outputRootProof), "Portal: invalid output root proof");

        bytes32 withdrawalHash = Hashing.hashWithdrawal(_tx);
        ProvenWithdrawal memory proven = provenWithdrawals[withdrawalHash];
        // Re-proving resets the clock, so it is allowed only when the output it was proven against
        // has been deleted or replaced.
        require(
            proven.timestamp == 0 || _outputChanged(proven),
            "Portal: withdrawal hash has already been proven"
        );

        // Malformed RLP makes the trie library revert instead of returning false: the external
        // self-call turns every bad proof into the same refusal.
        bool included;
        try this.isWithdrawalIncluded(withdrawalHash, _outputRootProof.messagePasserStorageRoot, _withdrawalProof)
        returns (bool ok) {
            included = ok;
        } catch {
            included = false;
        }
        require(included, "Portal: invalid withdrawal inclusion proof");

        provenWithdrawals[withdrawalHash] = ProvenWithdrawal({
            outputRoot: outputRoot,
            timestamp: uint128(block.timestamp),
            l2OutputIndex: uint128(_l2OutputIndex)
        });
        emit WithdrawalProven(withdrawalHash, _tx.sender, _tx.target);
    }

    /// @notice True when `_proof` shows `sentMessages[_withdrawalHash] == true` (slot 0 mapping) in a
    ///         message-passer storage trie with root `_storageRoot`.
    function isWithdrawalIncluded(bytes32 _withdrawalHash, bytes32 _storageRoot, bytes[] calldata _proof)
        external
        pure
        returns (bool)
    {
        bytes32 storageKey = keccak256(abi.encode(_withdrawalHash, uint256(0)));
        return TrieProof.verify(hex"01", _storageRoot, abi.encodePacked(keccak256(abi.encode(storageKey))), _proof);
    }

    /// @notice Releases a proven withdrawal once both the proof and its output are older than the
    ///         finalisation period and the output is still the one it was proven against.
    function finalizeWithdrawalTransaction(Types.WithdrawalTransaction memory _tx) external {
        require(l2Sender == DEFAULT_L2_SENDER, "Portal: can only trigger one withdrawal per transaction");
        bytes32 withdrawalHash = Hashing.hashWithdrawal(_tx);
        require(!finalizedWithdrawals[withdrawalHash], "Portal: withdrawal has already been finalized");
        ProvenWithdrawal memory proven = provenWithdrawals[withdrawalHash];
        require(proven.timestamp != 0, "Portal: withdrawal has not been proven yet");
        require(
            _isFinalizationPeriodElapsed(proven.timestamp),
            "Portal: proven withdrawal finalization period has not elapsed"
        );
        require(!_outputChanged(proven), "Portal: output root proven is not the same as current output root");
        Types.OutputProposal memory proposal = L2_ORACLE.getL2Output(proven.l2OutputIndex);
        require(
            _isFinalizationPeriodElapsed(proposal.timestamp),
            "Portal: output proposal finalization period has not elapsed"
        );

        // The relayed call must get at least its gas limit: with less, a caller could make it fail
        // on purpose and burn the withdrawal (it is marked finalised either way). Not enough gas
        // here reverts the whole transaction instead.
        require(
            (gasleft() * 63) / 64 >= (_tx.gasLimit * 64) / 63 + RELAY_RESERVE_GAS,
            "Portal: insufficient gas to finalize withdrawal"
        );

        finalizedWithdrawals[withdrawalHash] = true;
        l2Sender = _tx.sender;
        bool success;
        try this.relay(_tx) {
            success = true;
        } catch {
            success = false;
        }
        l2Sender = DEFAULT_L2_SENDER;
        if (success) totalReleased += _tx.value;
        emit WithdrawalFinalized(withdrawalHash, success);
    }

    /// @notice Delivers a withdrawal as one unit: the OPEN to the target, then, when the withdrawal
    ///         carries calldata, the call with its gas limit (`l2Sender` tells the target who sent
    ///         it). A failed call undoes the transfer. Callable only by this contract.
    function relay(Types.WithdrawalTransaction memory _tx) external {
        require(msg.sender == address(this) && l2Sender != DEFAULT_L2_SENDER, "Portal: relay is internal");
        if (_tx.value > 0) token.safeTransfer(_tx.target, _tx.value);
        if (_tx.data.length == 0) return;
        address target = _tx.target;
        uint256 gasLimit = _tx.gasLimit;
        bytes memory data = _tx.data;
        bool ok;
        assembly ("memory-safe") {
            // No return data copied: a target cannot make the relay run out of gas by returning a lot.
            ok := call(gasLimit, target, 0, add(data, 0x20), mload(data), 0, 0)
        }
        require(ok, "Portal: withdrawal call failed");
    }

    /// @notice True once the output at `_l2OutputIndex` is older than the finalisation period.
    function isOutputFinalized(uint256 _l2OutputIndex) external view returns (bool) {
        return _isFinalizationPeriodElapsed(L2_ORACLE.getL2Output(_l2OutputIndex).timestamp);
    }

    function _outputChanged(ProvenWithdrawal memory _proven) internal view returns (bool) {
        if (_proven.l2OutputIndex >= L2_ORACLE.nextOutputIndex()) return true;
        return L2_ORACLE.getL2Output(_proven.l2OutputIndex).outputRoot != _proven.outputRoot;
    }

    function _isFinalizationPeriodElapsed(uint256 _timestamp) internal view returns (bool) {
        return block.timestamp > _timestamp + L2_ORACLE.finalizationPeriodSeconds();
    }
}
